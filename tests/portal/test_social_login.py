"""Zalo / Google social login against a fake OAuth provider (the edge of the world)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from portal_helpers import GUEST_MAC, PORTAL, csrf_of, form_post

from porchlight.portal.app import create_app


class FakeProvider:
    """Authorize (approves at once), token (checks secret and PKCE), user info."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}  # code -> PKCE challenge
        self.tokens: dict[str, dict] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path in ("/google/auth", "/zalo/permission"):
                    code = f"code-{len(provider.codes)}"
                    provider.codes[code] = query["code_challenge"]
                    back = (
                        query["redirect_uri"]
                        + "?"
                        + urllib.parse.urlencode({"code": code, "state": query["state"]})
                    )
                    self.send_response(302)
                    self.send_header("Location", back)
                    self.end_headers()
                elif url.path == "/google/userinfo":
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    if token not in provider.tokens:
                        return self._json(401, {"error": "invalid_token"})
                    self._json(200, {"sub": "g-123", "name": "Lan Trần", "email": "Lan@Mail.VN"})
                elif url.path == "/zalo/me":
                    if self.headers.get("access_token") not in provider.tokens:
                        return self._json(200, {"error": -124, "message": "bad token"})
                    self._json(200, {"id": "z-987", "name": "Minh"})
                else:
                    self._json(404, {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                secret = form.get("client_secret") or self.headers.get("secret_key")
                challenge = provider.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                if secret != "s3cret" or challenge != expected.rstrip(b"=").decode():
                    return self._json(400, {"error": "invalid_grant"})
                token = f"tok-{len(provider.tokens)}"
                provider.tokens[token] = form
                self._json(200, {"access_token": token, "token_type": "Bearer"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def approve(self, url: str) -> str:
        """The guest's browser at the provider: returns where the provider sends it back."""
        import requests

        answer = requests.get(url, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


@pytest.fixture
def provider():
    fake = FakeProvider()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def social_app(agent, provider):
    base = provider.base
    return create_app(
        {
            "SECRET_KEY": "test-secret",
            "AGENT_SOCKET": agent.path,
            "PORTAL_URL": PORTAL,
            "OAUTH_PROVIDERS": {
                "google": {
                    "client_id": "portal-app",
                    "client_secret": "s3cret",
                    "authorize_url": f"{base}/google/auth",
                    "token_url": f"{base}/google/token",
                    "userinfo_url": f"{base}/google/userinfo",
                },
                "zalo": {
                    "client_id": "4242",
                    "client_secret": "s3cret",
                    "authorize_url": f"{base}/zalo/permission",
                    "token_url": f"{base}/zalo/token",
                    "userinfo_url": f"{base}/zalo/me?fields=id,name",
                },
            },
        }
    )


@pytest.fixture
def phone(social_app):
    from portal_helpers import phone_client

    return phone_client(social_app)


def _start(phone, provider_name, **extra):
    return form_post(phone, {"channel": provider_name, "consent_wifi": "yes", **extra})


def test_google_login_records_the_social_identity_and_consents(phone, agent, provider):
    start = _start(phone, "google", consent_marketing="yes")
    assert start.status_code == 303
    target = urllib.parse.urlsplit(start.headers["Location"])
    query = dict(urllib.parse.parse_qsl(target.query))
    assert query["client_id"] == "portal-app"
    assert query["redirect_uri"] == f"{PORTAL}/oauth/google/callback"
    assert query["code_challenge_method"] == "S256"
    csp = start.headers["Content-Security-Policy"]
    assert provider.base in csp  # the form may lead to the provider

    back = provider.approve(start.headers["Location"])
    done = phone.get(back)
    assert done.status_code == 303
    assert done.headers["Location"].startswith("/success")
    assert agent.online_macs() == {GUEST_MAC}
    login = agent.logins[0]["data"]
    assert login["channel"] == "google"
    assert login["social_id"] == "google:g-123"
    assert login["name"] == "Lan Trần"
    assert login["email"] == "Lan@mail.vn"
    assert login["tags"] == ["wifi", "làm đẹp", "google"]
    assert {"purpose": "marketing", "granted": True, "text_version": "mkt-v1"} in login["consents"]


def test_zalo_login(phone, agent, provider):
    start = _start(phone, "zalo")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["Location"]).query))
    assert query["app_id"] == "4242"
    done = phone.get(provider.approve(start.headers["Location"]))
    assert done.status_code == 303
    assert agent.logins[0]["data"]["social_id"] == "zalo:z-987"
    assert agent.logins[0]["data"]["name"] == "Minh"


def test_social_login_needs_the_wifi_consent_first(phone, agent):
    answer = form_post(phone, {"channel": "google", "lang": "en"})
    assert answer.status_code == 422
    assert "Please accept to use the Wi-Fi." in answer.get_data(as_text=True)


def test_forged_or_replayed_callback_is_refused(phone, agent, provider):
    start = _start(phone, "google", lang="en")
    back = provider.approve(start.headers["Location"])
    forged = back.replace("state=", "state=x")
    answer = phone.get(forged, headers={"Accept-Language": "en"})
    assert answer.status_code == 400
    assert "The social login did not finish." in answer.get_data(as_text=True)
    assert phone.get(back).status_code == 400  # the pending login was used up
    assert agent.online_macs() == set()


def test_provider_refusing_the_code_is_a_message_not_a_crash(phone, agent, provider):
    start = _start(phone, "google")
    back = provider.approve(start.headers["Location"])
    provider.codes.clear()  # the provider no longer knows the code
    answer = phone.get(back, headers={"Accept-Language": "vi"})
    assert answer.status_code == 502
    assert "mạng xã hội chưa hoàn tất" in answer.get_data(as_text=True)
    assert agent.online_macs() == set()


def test_providers_without_credentials_are_not_offered(phone, guest):
    with_creds = phone.get(f"{PORTAL}/").get_data(as_text=True)
    assert 'value="google"' in with_creds and 'value="zalo"' in with_creds
    assert 'value="facebook"' not in with_creds  # enabled by the venue, no credentials
    plain = guest.get(f"{PORTAL}/").get_data(as_text=True)
    assert 'value="google"' not in plain
    answer = guest.post(
        f"{PORTAL}/login",
        data={"csrf_token": csrf_of(plain), "channel": "google", "consent_wifi": "yes"},
    )
    assert answer.status_code == 422


def test_guest_who_declines_at_the_provider_is_told_and_can_retry(phone, agent, provider):
    start = _start(phone, "google", lang="en")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.headers["Location"]).query))
    answer = phone.get(f"{PORTAL}/oauth/google/callback?error=access_denied&state={state['state']}")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "The social login did not finish." in body and 'value="google"' in body
    assert agent.online_macs() == set()


def test_walled_garden_domains_of_the_providers_are_kept_in_one_place():
    """porchlight/walled_garden.SOCIAL_DOMAINS is the list the agent opens, for every
    provider the portal offers (LINE included); no second, stale copy in the portal."""
    from porchlight.portal import providers
    from porchlight.walled_garden import SOCIAL_DOMAINS

    assert set(providers.PROVIDER_DEFAULTS) == set(SOCIAL_DOMAINS)
    assert not hasattr(providers, "WALLED_GARDEN")
