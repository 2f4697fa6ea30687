"""Clients of roster's WeCom dialects, shared by test_wecom.py and test_qwif.py.

`wecom_client` is wechatpy's own WeChatClient (the PyPI release) pointed at roster as the
wire spec's Part C.4 describes. `Qwif` speaks do1's qwif wrapper the way do1's PHP and C#
clients do: `token` and `corpId` in the query, one multipart text part holding JSON.
"""

import json

import requests
from wechatpy.enterprise import WeChatClient


def corp(n):
    """Credentials of corp `n` of tests/sdk/seeds/wecom.toml."""
    digit = str(n)
    return {
        "corp_id": f"wwsdkcorp{n}",
        "secret": f"sdk-secret-{n}",
        "developer_id": "qw" + digit * 32,
        "developer_key": {
            1: "c2RrLWRldmVsb3Blci1rZXktMQ==",
            2: "c2RrLWRldmVsb3Blci1rZXktMg==",
            3: "c2RrLWRldmVsb3Blci1rZXktMw==",
            4: "c2RrLWRldmVsb3Blci1rZXktNA==",
        }[n],
    }


def wecom_client(roster, n=1, **kwargs):
    """wechatpy's WeChatClient for corp `n`, pointed at roster."""
    base = roster.url + "/cgi-bin/"

    class LocalWeCom(WeChatClient):
        API_BASE_URL = base

        def fetch_access_token(self):
            # The gettoken URL is hard-coded upstream; API_BASE_URL does not redirect it.
            return self._fetch_access_token(
                url=base + "gettoken",
                params={"corpid": self.corp_id, "corpsecret": self.secret},
            )

    credentials = corp(n)
    return LocalWeCom(credentials["corp_id"], credentials["secret"], **kwargs)


class Qwif:
    """do1's qwif API of corp `n` on roster."""

    def __init__(self, roster, n=1, token=None):
        self.base = roster.url + "/qwcgi"
        self.corp_id = corp(n)["corp_id"]
        self.token = token or self.fetch_token(roster, n)["data"]["token"]

    @staticmethod
    def fetch_token(roster, n):
        credentials = corp(n)
        return requests.get(
            roster.url + "/qwcgi/portal/api/qwsecurity!getToken.action",
            params={
                "developerId": credentials["developer_id"],
                "developerKey": credentials["developer_key"],
            },
        ).json()

    def params(self, **extra):
        return {"token": self.token, "corpId": self.corp_id, **extra}

    def post(self, api, data, part="data", **params):
        """POST multipart/form-data with one text part (no filename), as do1's clients do."""
        text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
        response = requests.post(
            f"{self.base}/api/{api}",
            params=self.params(**params),
            files={part: (None, text)},
        )
        assert response.status_code == 200, response.text
        return response

    def get(self, api, **params):
        response = requests.get(f"{self.base}/api/{api}", params=self.params(**params))
        assert response.status_code == 200, response.text
        return response
