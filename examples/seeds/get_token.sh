#!/bin/sh
# The seeds' Postman steps as curl: Basic auth with client_id:client_secret, a form body with
# grant_type=client_credentials and client_id, then a call to the API with the token.
#   CLAVIS_URL=http://localhost:8080 CLAVIS_CLIENT_ID=... CLAVIS_CLIENT_SECRET=... ./get_token.sh
set -eu
: "${CLAVIS_URL:=http://localhost:8080}"
response=$(curl -sS --fail-with-body -X POST "$CLAVIS_URL/oauth/token" \
  -u "$CLAVIS_CLIENT_ID:$CLAVIS_CLIENT_SECRET" \
  -H 'Content-Type: application/x-www-form-urlencoded' \
  --data "grant_type=client_credentials&client_id=$CLAVIS_CLIENT_ID")
token=$(printf '%s' "$response" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "no access_token in: $response" >&2; exit 1; }
curl -sS --fail-with-body "$CLAVIS_URL/api/v1/me" -H "Authorization: Bearer $token"
echo
