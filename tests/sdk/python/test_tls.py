"""Clients that hard-code the vendors' HTTPS hosts, against `roster serve --tls`: the SDK's
default domain (https://open.feishu.cn) and plain `requests` to qyapi.weixin.qq.com, sent to
roster by a resolver (as a hosts-file entry would) and trusting roster's CA through
REQUESTS_CA_BUNDLE, as roster's start banner says."""

import urllib.parse

import lark_oapi as lark
import lark_oapi.api.contact.v3 as contact
import pytest
import requests
import urllib3.util.connection
from lark_oapi.core.token.manager import TokenManager

from roster_harness import Roster

SEED = "feishu.toml"
VENDOR_HOSTS = ("open.feishu.cn", "qyapi.weixin.qq.com", "console.tim.qq.com")


@pytest.fixture(scope="module")
def roster():
    server = Roster(SEED, tls=True)
    yield server
    server.stop()


@pytest.fixture
def vendor_hosts_to_roster(roster, monkeypatch):
    """Resolve the vendors' hosts to roster, and trust roster's CA, for this test."""
    port = urllib.parse.urlsplit(roster.url).port
    original = urllib3.util.connection.create_connection

    def create_connection(address, *args, **kwargs):
        host, _ = address
        if host in VENDOR_HOSTS:
            address = ("127.0.0.1", port)
        return original(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(roster.ca))
    TokenManager.cache.cache.clear()


def test_the_sdks_default_domain_reaches_roster(vendor_hosts_to_roster):
    client = lark.Client.builder().app_id("cli_acme_tasks").app_secret("acme-secret-1").build()
    got = client.contact.v3.user.get(
        contact.GetUserRequest.builder().user_id("alice").user_id_type("user_id").build())
    assert got.success(), got.msg
    assert got.data.user.name == "Alice"


def test_hard_coded_hosts_of_other_vendors(vendor_hosts_to_roster):
    answer = requests.get("https://qyapi.weixin.qq.com/cgi-bin/gettoken",
                          params={"corpid": "nobody", "corpsecret": "x"}).json()
    assert answer["errcode"] > 0 and "errmsg" in answer
    answer = requests.post("https://console.tim.qq.com/v4/follow/follow_add", json={}).json()
    assert answer["ActionStatus"] == "FAIL"


def test_an_untrusted_ca_is_refused(roster):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(roster.url + "/healthz", verify=True)
    assert requests.get(roster.url + "/healthz", verify=str(roster.ca)).json() == {"status": "ok"}
