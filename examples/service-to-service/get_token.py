#!/usr/bin/env python3
"""Client credentials in Python with `requests`, done right.

What the hand-written version in the seeds gets wrong, and this fixes:
  * the token is cached until shortly before it expires (not one token request per API call), and
    concurrent threads share one token request (a lock around the refresh);
  * the API gets "Authorization: Bearer <token>" (RFC 6750), not the bare token;
  * client_id and secret are form-encoded before Basic auth (RFC 6749 section 2.3.1);
  * a 401 is retried exactly once, only when the API says error="invalid_token" (the token expired or was
    revoked), after dropping the cached token; other 401s and 403s are returned as they are;
  * token endpoint errors raise TokenError with the OAuth `error` and `error_description`; a rejected
    secret (invalid_client) is never retried, outages (connection errors, 5xx, 429) are, with backoff;
  * the secret comes from the environment, never from code or the command line.

    export CLAVIS_URL=http://localhost:8080 CLAVIS_CLIENT_ID=orders-service
    read -rs CLAVIS_CLIENT_SECRET && export CLAVIS_CLIENT_SECRET
    python3 get_token.py                                   # prints an access token
    python3 get_token.py "$CLAVIS_URL/api/v1/contacts"     # calls an API with it
"""
import os
import random
import sys
import threading
import time
from urllib.parse import quote_plus

import requests
from requests.auth import HTTPBasicAuth


class TokenError(Exception):
    """The token endpoint refused (error, error_description) or answered something unusable."""

    def __init__(self, error, description=None, status=None):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.error_description = description
        self.status = status


class ClientCredentials:
    """A cached, thread-safe client credentials token source plus a `request` helper that uses it."""

    def __init__(self, token_url, client_id, client_secret, scope=None, session=None,
                 refresh_skew=60, retries=3, timeout=30):
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self.session = session or requests.Session()
        self.refresh_skew = refresh_skew
        self.retries = retries
        self.timeout = timeout
        self._lock = threading.Lock()
        self._token = None
        self._expires_at = 0.0

    @classmethod
    def from_env(cls, **kwargs):
        base = os.environ.get("CLAVIS_URL", "http://localhost:8080").rstrip("/")
        try:
            client_id = os.environ["CLAVIS_CLIENT_ID"]
            secret = os.environ["CLAVIS_CLIENT_SECRET"]
        except KeyError as missing:
            raise SystemExit(f"set {missing.args[0]}")
        return cls(os.environ.get("CLAVIS_TOKEN_URL", f"{base}/oauth/token"), client_id, secret,
                   scope=os.environ.get("CLAVIS_SCOPE"), **kwargs)

    def _fetch_token(self):
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        # RFC 6749 2.3.1: form-encode both parts, then Basic. requests' auth=(id, secret) skips the encoding.
        auth = HTTPBasicAuth(quote_plus(self.client_id), quote_plus(self._secret))
        for attempt in range(self.retries + 1):
            sent_at = time.time()
            try:
                res = self.session.post(self.token_url, data=data, auth=auth, timeout=self.timeout,
                                        headers={"Accept": "application/json"})
            except requests.ConnectionError:
                if attempt == self.retries:
                    raise
                self._backoff(attempt)
                continue
            if (res.status_code >= 500 or res.status_code == 429) and attempt < self.retries:
                self._backoff(attempt)
                continue
            try:
                body = res.json()
            except ValueError:
                body = {}
            if res.status_code != 200:
                # invalid_client (wrong or revoked secret) and other OAuth errors: retrying cannot help.
                raise TokenError(body.get("error", f"HTTP {res.status_code}"), body.get("error_description"),
                                 res.status_code)
            if not body.get("access_token"):
                raise TokenError("invalid_response", "no access_token in the token response", 200)
            expires_in = float(body.get("expires_in") or 300)
            self._token = body["access_token"]
            # renew a little early: min(refresh_skew, 10% of the lifetime)
            self._expires_at = sent_at + expires_in - min(self.refresh_skew, expires_in * 0.1)
            return self._token

    @staticmethod
    def _backoff(attempt):
        time.sleep(random.uniform(0, min(5.0, 0.2 * 2 ** attempt)))  # capped exponential, full jitter

    def get_token(self):
        """The cached token, or a new one if there is none or it is about to expire."""
        with self._lock:  # one token request however many threads are waiting
            if self._token is None or time.time() >= self._expires_at:
                self._fetch_token()
            return self._token

    def invalidate(self, token=None):
        """Drop the cached token (only if it is still `token`, when given)."""
        with self._lock:
            if token is None or token == self._token:
                self._token = None

    def request(self, method, url, **kwargs):
        """`requests` with the Bearer token; on 401 error="invalid_token", one retry with a new token."""
        headers = dict(kwargs.pop("headers", None) or {})
        kwargs.setdefault("timeout", self.timeout)
        token = self.get_token()
        res = self.session.request(method, url, headers={**headers, "Authorization": f"Bearer {token}"}, **kwargs)
        if res.status_code == 401 and 'invalid_token' in res.headers.get("WWW-Authenticate", ""):
            self.invalidate(token)
            token = self.get_token()
            res = self.session.request(method, url, headers={**headers, "Authorization": f"Bearer {token}"},
                                       **kwargs)
        return res

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)


def main(argv):
    client = ClientCredentials.from_env()
    try:
        if len(argv) < 2:
            print(client.get_token())
            return 0
        res = client.get(argv[1])
    except TokenError as err:
        print(f"token request failed: {err}", file=sys.stderr)
        return 1
    except requests.ConnectionError as err:
        print(f"cannot reach the server: {err}", file=sys.stderr)
        return 2
    print(res.text)
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
