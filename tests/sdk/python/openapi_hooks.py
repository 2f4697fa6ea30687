"""schemathesis hooks for fuzz_openapi.py: every generated request carries real credentials of
the seed's spaces (tests/sdk/seeds/openapi.toml), so that it reaches past authentication.

The credentials come from the environment, set by the test from the running roster:
ROSTER_FUZZ_ADMIN (roster's admin token), ROSTER_FUZZ_FEISHU (a tenant access token),
ROSTER_FUZZ_WECOM (a WeCom access token), ROSTER_FUZZ_QWIF (a do1 token),
ROSTER_FUZZ_QWIF_CORP (its corp id) and ROSTER_FUZZ_TIM (a JSON object of the TIM query).
"""

import json
import os

import schemathesis


def _credentials(path: str):
    """(headers, query) that authenticate a request to `path`."""
    env = os.environ
    if path.startswith("/_roster/") and path != "/_roster/openapi.json":
        return {"Authorization": "Bearer " + env["ROSTER_FUZZ_ADMIN"]}, {}
    if path.startswith("/open-apis/"):
        return {"Authorization": "Bearer " + env["ROSTER_FUZZ_FEISHU"]}, {}
    if path.startswith("/v4/"):
        return {}, json.loads(env["ROSTER_FUZZ_TIM"])
    if path.startswith("/cgi-bin/") and path != "/cgi-bin/gettoken":
        return {}, {"access_token": env["ROSTER_FUZZ_WECOM"]}
    if path.startswith("/qwcgi/api/"):
        return {}, {"token": env["ROSTER_FUZZ_QWIF"], "corpId": env["ROSTER_FUZZ_QWIF_CORP"]}
    return {}, {}


@schemathesis.auth()
class RosterCredentials:
    """Sets the credentials of each request's dialect, in every phase. schemathesis keeps what
    `get` returns for every operation, so `get` returns nothing and `set` picks them by path."""

    def get(self, case, ctx):
        return True

    def set(self, case, data, ctx):
        headers, query = _credentials(case.operation.path)
        if headers:
            case.headers = {**(case.headers or {}), **headers}
        if query:
            case.query = {**(case.query or {}), **query}


@schemathesis.serializer("application/x-ndjson")
def snapshot_file(ctx, value):
    """A snapshot file (POST /_roster/snapshot) is text: JSON lines."""
    if isinstance(value, bytes):
        return {"data": value}
    text = value if isinstance(value, str) else json.dumps(value)
    return {"data": text.encode("utf-8")}
