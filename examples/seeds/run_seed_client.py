# Drives the seeds' functions: get a token, call the API, let the token expire, and call again so the
# seeds' own 401 path re-authenticates. Prints one JSON line per step for the test to check.
import json
import sys
import time

from seed_client import get_data_from_endpoint, get_token_by_client_id_and_client_secret

wait = float(sys.argv[1]) if len(sys.argv) > 1 else 0
token = get_token_by_client_id_and_client_secret()
print(json.dumps({"step": "token", "ok": bool(token)}))
first = get_data_from_endpoint(token)
print(json.dumps({"step": "call", "status": first.status_code, "body": first.json()}))
time.sleep(wait)
second = get_data_from_endpoint(token)
print(json.dumps({"step": "after-expiry", "status": second.status_code, "body": second.json()}))
