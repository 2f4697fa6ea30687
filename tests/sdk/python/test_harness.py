"""The real binary as the SDK suites use it: start-up line, health, admin clock, restart."""

import json
import urllib.request

SEED = "empty.toml"


def get(url):
    with urllib.request.urlopen(url) as response:
        return response.status, response.headers, json.loads(response.read())


def test_health_and_restart(roster):
    status, headers, body = get(roster.url + "/healthz")
    assert (status, body) == (200, {"status": "ok"})
    assert headers["Content-Type"].startswith("application/json")
    roster.restart()
    assert get(roster.url + "/healthz")[0] == 200


def test_admin_clock(roster):
    roster.advance_clock(120)
    status, body = roster.admin("GET", "/clock")
    assert status == 200 and body["offset_seconds"] == 120
    roster.advance_clock(0)
