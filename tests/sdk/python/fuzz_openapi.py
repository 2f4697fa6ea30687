"""schemathesis against roster's own OpenAPI document (GET /_roster/openapi.json), on a real
`roster serve` with the seed tests/sdk/seeds/openapi.toml: every generated request carries real
credentials (openapi_hooks.py), and every answer must be no 5xx, JSON where the document says
JSON, of a documented status, and valid against its schema.

Run by scripts/test (`pytest fuzz_openapi.py`) once per backend; not collected by the SDK run.
Bounded and reproducible: ROSTER_FUZZ_EXAMPLES examples per operation (default 100), a fixed
seed, no example database.
"""

import json
import os
import pathlib
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest
import TLSSigAPIv2

from roster_harness import ADMIN_TOKEN, Roster

SEED = "openapi.toml"
HERE = pathlib.Path(__file__).resolve().parent
EXAMPLES = os.environ.get("ROSTER_FUZZ_EXAMPLES", "100")

# Operations (`METHOD /path`) that change the whole server (move the clock, reset or empty
# spaces, load snapshots, inject faults): fuzzed on their own, after everything else, so that
# they cannot turn the other routes' answers into injected errors or expired credentials.
CONTROL = "^(POST|DELETE) /_roster/(clock|reset|spaces/|snapshot|faults|callbacks/)"

# Not fuzzed: setting a callback receiver sends the vendor's check to the URL in the body, and
# a generated URL may name any host (this suite sends traffic to loopback only).
UNFUZZED = "^PUT /_roster/callbacks/"

# Checks that assume REST conventions the vendors do not follow, so roster must not either:
# TIM, WeCom and do1 answer every refusal with HTTP 200 and an error code, Feishu a missing
# token with 400 (99991661) rather than 401, and WeCom, do1 and TIM accept any method on their
# paths. See docs/compat.md.
NOT_APPLICABLE = [
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "ignored_auth",
]

TIM_APP = 1400000000
TIM_KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"


def fetch(url: str, data: bytes = None):
    with urllib.request.urlopen(urllib.request.Request(url, data=data)) as response:
        return json.loads(response.read())


def credentials(base: str) -> dict:
    """The environment openapi_hooks.py reads: a token of each dialect of the seed."""
    feishu = fetch(
        base + "/open-apis/auth/v3/tenant_access_token/internal",
        json.dumps({"app_id": "cli_fuzz", "app_secret": "fuzz-secret"}).encode(),
    )
    wecom = fetch(base + "/cgi-bin/gettoken?corpid=wwfuzzcorp&corpsecret=fuzz-secret")
    qwif_login = urllib.parse.urlencode(
        {"developerId": "qw00000000000000000000000000000009",
         "developerKey": "ZnV6ei1kZXZlbG9wZXIta2V5"})
    qwif = fetch(base + "/qwcgi/portal/api/qwsecurity!getToken.action?" + qwif_login)
    usersig = TLSSigAPIv2.TLSSigAPIv2(TIM_APP, TIM_KEY).gen_sig("administrator", 86400)
    tim = {"sdkappid": TIM_APP, "identifier": "administrator", "usersig": usersig,
           "random": 1, "contenttype": "json"}
    return {
        "ROSTER_FUZZ_ADMIN": ADMIN_TOKEN,
        "ROSTER_FUZZ_FEISHU": feishu["tenant_access_token"],
        "ROSTER_FUZZ_WECOM": wecom["access_token"],
        "ROSTER_FUZZ_QWIF": qwif["data"]["token"],
        "ROSTER_FUZZ_QWIF_CORP": "wwfuzzcorp",
        "ROSTER_FUZZ_TIM": json.dumps(tim),
    }


@pytest.fixture(scope="module")
def roster():
    server = Roster(SEED)
    yield server
    server.stop()


def schemathesis(roster, *selection: str):
    env = {**os.environ, **credentials(roster.url),
           "SCHEMATHESIS_HOOKS": "openapi_hooks", "PYTHONPATH": str(HERE)}
    args = [
        sys.executable, "-m", "schemathesis.cli", "run", roster.url + "/_roster/openapi.json",
        "--max-examples", EXAMPLES, "--seed", "20261202", "--generation-database", "none",
        "--checks", "all", "--exclude-checks", ",".join(NOT_APPLICABLE),
        "--request-timeout", "30", "--no-color", *selection,
    ]
    run = subprocess.run(args, env=env, cwd=HERE, capture_output=True, text=True)
    print(run.stdout[-3000:])
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_route_but_the_control_plane(roster):
    schemathesis(roster, "--exclude-name-regex", f"{CONTROL}|{UNFUZZED}")


def test_the_control_plane(roster):
    schemathesis(roster, "--include-name-regex", CONTROL)
