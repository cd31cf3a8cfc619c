# Drives the seeds' functions: get a token, call the API, wait for a line on stdin (the test moves the
# server's clock past the token's lifetime meanwhile), and call again so the seeds' own 401 path
# re-authenticates. Prints one JSON line per step for the test to check.
import json
import sys

from seed_client import get_data_from_endpoint, get_token_by_client_id_and_client_secret

token = get_token_by_client_id_and_client_secret()
print(json.dumps({"step": "token", "ok": bool(token)}), flush=True)
first = get_data_from_endpoint(token)
print(json.dumps({"step": "call", "status": first.status_code, "body": first.json()}), flush=True)
sys.stdin.readline()
second = get_data_from_endpoint(token)
print(json.dumps({"step": "after-expiry", "status": second.status_code, "body": second.json()}), flush=True)
