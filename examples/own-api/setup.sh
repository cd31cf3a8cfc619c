#!/bin/sh
# Registers the Orders API in Clavis, and an app that calls it with client credentials, with the clavis CLI.
# Run it signed in as a tenant admin (`clavis login`, or `clavis login --client-id ... --client-secret-stdin`
# with a management client): an admin's permission request is granted at once (admin consent).
#
#   eval "$(./setup.sh)"     # exports ORDERS_API_IDENTIFIER, CLAVIS_CLIENT_ID and CLAVIS_CLIENT_SECRET
#
# Optional: ORDERS_API_IDENTIFIER (default https://orders.example.com), CLAVIS_SERVER, and CLAVIS_CLI (how
# to run the CLI; default `npx clavis`). Progress goes to stderr; stdout holds only the export lines. Needs jq.
set -eu
: "${ORDERS_API_IDENTIFIER:=https://orders.example.com}"
clavis() { ${CLAVIS_CLI:-npx clavis} "$@"; }

# 1. The API: its identifier is the audience of its tokens. orders:refund needs a tenant admin's consent.
clavis apis create --identifier "$ORDERS_API_IDENTIFIER" --name "Orders API" \
  --description "Orders of the shop, for the fulfilment backends" \
  --scope "orders:read=See orders" \
  --scope "orders:write=Create and change orders" \
  --scope "orders:refund=Refund orders" --admin-consent orders:refund >&2

# 2. The app that calls it (a confidential client: its secret is shown once, here).
app=$(clavis apps create --name "Fulfilment worker" \
  --callback-url https://fulfilment.example.com/callback --json)
client_id=$(printf '%s' "$app" | jq -r .client_id)
secret=$(printf '%s' "$app" | jq -r .secret.value)

# 3. Its permission: orders:read and orders:write of the Orders API (not orders:refund).
clavis apps permissions request "$client_id" "$ORDERS_API_IDENTIFIER" --scopes "orders:read orders:write" >&2
clavis apps permissions list "$client_id" >&2

printf 'export ORDERS_API_IDENTIFIER=%s\n' "$ORDERS_API_IDENTIFIER"
printf 'export CLAVIS_CLIENT_ID=%s\n' "$client_id"
printf 'export CLAVIS_CLIENT_SECRET=%s\n' "$secret"
