#!/bin/sh
# Client credentials with curl, done right: the secret from the environment (not the command line),
# client_id and secret form-encoded before Basic auth (RFC 6749 §2.3.1), OAuth errors reported, and the
# token sent with the Bearer scheme. Needs curl and jq.
#
#   export CLAVIS_URL=http://localhost:8080 CLAVIS_CLIENT_ID=orders-service
#   read -rs CLAVIS_CLIENT_SECRET && export CLAVIS_CLIENT_SECRET
#   ./get_token.sh                                   # prints the access token
#   ./get_token.sh "$CLAVIS_URL/api/v1/contacts"     # calls an API with it
#
# Optional: CLAVIS_SCOPE="contacts:read". In a loop, cache the token until expires_in runs out rather
# than asking for a new one per call (or use `clavis token`, or the SDK, which do this for you).
set -eu
: "${CLAVIS_URL:=http://localhost:8080}"
: "${CLAVIS_CLIENT_ID:?set CLAVIS_CLIENT_ID}"
: "${CLAVIS_CLIENT_SECRET:?set CLAVIS_CLIENT_SECRET (e.g. read -rs CLAVIS_CLIENT_SECRET)}"

urlencode() { jq -rn --arg v "$1" '$v | @uri | gsub("%20"; "+")'; }  # form-encoding: space is +
basic=$(printf '%s:%s' "$(urlencode "$CLAVIS_CLIENT_ID")" "$(urlencode "$CLAVIS_CLIENT_SECRET")" | base64 | tr -d '\n')

# The credentials go through a header read from stdin, so they never show up in `ps`.
response=$(printf 'Authorization: Basic %s\n' "$basic" | curl -sS --retry 2 --max-time 30 \
  -X POST "$CLAVIS_URL/oauth/token" \
  -H @- \
  -H 'Accept: application/json' \
  --data-urlencode 'grant_type=client_credentials' \
  ${CLAVIS_SCOPE:+--data-urlencode "scope=$CLAVIS_SCOPE"} \
  -w '\n%{http_code}')
status=$(printf '%s' "$response" | tail -n 1)
body=$(printf '%s' "$response" | sed '$d')
if [ "$status" != 200 ]; then
  printf 'token request failed (HTTP %s): %s\n' "$status" \
    "$(printf '%s' "$body" | jq -r '"\(.error // "error")\(if .error_description then ": " + .error_description else "" end)"' 2>/dev/null || printf '%s' "$body")" >&2
  exit 1
fi
token=$(printf '%s' "$body" | jq -r '.access_token // empty')
[ -n "$token" ] || { echo "no access_token in the response" >&2; exit 1; }

if [ $# -eq 0 ]; then
  printf '%s\n' "$token"
else
  printf 'Authorization: Bearer %s\n' "$token" | curl -sS --fail-with-body --max-time 30 -H @- "$1"
  echo
fi
