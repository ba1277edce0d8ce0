"""LINE Login against a fake LINE platform (authorize, token, ID token verify, friendship)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from portal_fake_agent import CONFIG, FakeAgent
from portal_helpers import GUEST_IP, GUEST_MAC, PORTAL, form_post, phone_client

from porchlight.portal.app import create_app

LINE_USER = "U" + "4af49806292a" * 2 + "ab12cd34"


class FakeLine:
    """access.line.me and api.line.me as the login needs them; knobs for bad days."""

    def __init__(self) -> None:
        self.codes: dict[str, dict] = {}  # code -> authorize query
        self.tokens: dict[str, dict] = {}  # access token -> authorize query
        self.id_tokens: dict[str, dict] = {}  # id token -> authorize query
        self.authorize_queries: list[dict] = []
        self.adds_friend = True  # what the guest does on the "add friend" screen
        self.slow = 0.0  # seconds the token endpoint waits
        self.claims: dict = {}  # replaces claims in the verify answer
        self.friendship_status = 200
        self.slow_friendship = 0.0  # seconds the friendship endpoint waits
        self.friendship_asked = 0
        self.released = threading.Event()  # set at teardown: a waiting answer gives up
        fake = self

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

            def _form(self):
                length = int(self.headers.get("Content-Length", 0))
                return dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/oauth2/v2.1/authorize":
                    fake.authorize_queries.append(query)
                    code = f"code-{len(fake.codes)}"
                    fake.codes[code] = query
                    back = {"code": code, "state": query["state"]}
                    if "bot_prompt" in query:
                        back["friendship_status_changed"] = str(fake.adds_friend).lower()
                    self.send_response(302)
                    self.send_header(
                        "Location", query["redirect_uri"] + "?" + urllib.parse.urlencode(back)
                    )
                    self.end_headers()
                elif url.path == "/friendship/v1/status":
                    fake.friendship_asked += 1
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    if token not in fake.tokens:
                        return self._json(401, {"message": "invalid token"})
                    if fake.friendship_status != 200:
                        return self._json(fake.friendship_status, {"message": "down"})
                    if fake.slow_friendship and fake.released.wait(fake.slow_friendship):
                        return None  # the test is over; the portal stopped waiting long ago
                    try:
                        self._json(200, {"friendFlag": fake.adds_friend})
                    except OSError:
                        pass  # the portal gave up waiting and closed the connection
                else:
                    self._json(404, {})

            def do_POST(self):
                form = self._form()
                if self.path == "/oauth2/v2.1/token":
                    time.sleep(fake.slow)
                    query = fake.codes.pop(form.get("code", ""), None)
                    verifier = form.get("code_verifier", "")
                    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    if (
                        query is None
                        or form.get("client_secret") != "line-s3cret"
                        or form.get("redirect_uri") != query["redirect_uri"]
                        or query["code_challenge"] != expected.rstrip(b"=").decode()
                    ):
                        return self._json(400, {"error": "invalid_grant"})
                    access, id_token = f"at-{len(fake.tokens)}", f"id-{len(fake.id_tokens)}"
                    fake.tokens[access] = query
                    fake.id_tokens[id_token] = query
                    self._json(
                        200,
                        {"access_token": access, "id_token": id_token, "token_type": "Bearer"},
                    )
                elif self.path == "/oauth2/v2.1/verify":
                    query = fake.id_tokens.get(form.get("id_token", ""))
                    if query is None or form.get("client_id") != query["client_id"]:
                        return self._json(400, {"error": "invalid_request"})
                    if form.get("nonce") != query.get("nonce"):
                        return self._json(400, {"error": "invalid_request"})
                    claims = {
                        "iss": "https://access.line.me",
                        "sub": LINE_USER,
                        "aud": query["client_id"],
                        "nonce": query.get("nonce"),
                        "name": "สมชาย ใจดี",
                        "email": "somchai@example.co.th",
                    }
                    self._json(200, {**claims, **fake.claims})
                else:
                    self._json(404, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def approve(self, url: str) -> str:
        import requests

        answer = requests.get(url, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text
        return answer.headers["Location"]


def line_config(line_oa: str | None = "@porchcafe", prompt: str = "aggressive") -> dict:
    config = copy.deepcopy(CONFIG)
    config["location"]["country"] = "TH"
    config["portal"]["channels"] = ["form", "line", "zalo", "google"]
    if line_oa:
        config["portal"]["chat"] = {"line_oa": line_oa, "line_bot_prompt": prompt}
    return config


@pytest.fixture
def line():
    fake = FakeLine()
    yield fake
    fake.released.set()
    fake.server.shutdown()
    fake.server.server_close()


def make_phone(line, config, timeout=1.0):
    agent = FakeAgent(config).start()
    agent.add_client(GUEST_IP, GUEST_MAC)
    base = line.base
    app = create_app(
        {
            "SECRET_KEY": "test-secret",
            "AGENT_SOCKET": agent.path,
            "PORTAL_URL": PORTAL,
            "CONFIG_CACHE_SECONDS": 0.0,
            "OAUTH_TIMEOUT": timeout,
            "OAUTH_PROVIDERS": {
                "line": {
                    "client_id": "1657000000",
                    "client_secret": "line-s3cret",
                    "authorize_url": f"{base}/oauth2/v2.1/authorize",
                    "token_url": f"{base}/oauth2/v2.1/token",
                    "userinfo_url": f"{base}/oauth2/v2.1/verify",
                    "friendship_url": f"{base}/friendship/v1/status",
                },
                "google": {"client_id": "g", "client_secret": "g"},
            },
        }
    )
    return agent, phone_client(app)


@pytest.fixture
def venue(line):
    agents = []

    def make(config, timeout=1.0):
        agent, phone = make_phone(line, config, timeout)
        agents.append(agent)
        return agent, phone

    yield make
    for agent in agents:
        agent.cleanup()


def _start(phone, **extra):
    answer = form_post(phone, {"channel": "line", "consent_wifi": "yes", **extra})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return answer.headers["Location"]


def test_line_login_offers_the_venue_account_and_records_the_follow(venue, line):
    agent, phone = venue(line_config())
    target = _start(phone, consent_marketing="yes")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query))
    assert query["client_id"] == "1657000000"
    assert query["response_type"] == "code"
    assert query["scope"] == "openid profile"
    assert query["redirect_uri"] == f"{PORTAL}/oauth/line/callback"
    assert query["code_challenge_method"] == "S256"
    assert query["bot_prompt"] == "aggressive"
    assert len(query["nonce"]) >= 16 and len(query["state"]) >= 16

    done = phone.get(line.approve(target))
    assert done.status_code == 303 and done.headers["Location"].startswith("/success")
    assert agent.online_macs() == {GUEST_MAC}
    login = agent.logins[0]["data"]
    assert login["channel"] == "line"
    assert login["social_id"] == f"line:{LINE_USER}"
    assert login["name"] == "สมชาย ใจดี"
    assert login["email"] == "somchai@example.co.th"
    assert login["tags"][-1] == "line"
    assert {"purpose": "marketing", "granted": True, "text_version": "mkt-v1"} in login["consents"]
    assert {
        "purpose": "line_follow",
        "granted": True,
        "text_version": "line-oa:@porchcafe",
    } in login["consents"]


def test_guest_who_does_not_add_the_account_still_gets_online(venue, line):
    agent, phone = venue(line_config(prompt="normal"))
    line.adds_friend = False
    target = _start(phone)
    assert "bot_prompt=normal" in target
    assert phone.get(line.approve(target)).status_code == 303
    consents = agent.logins[0]["data"]["consents"]
    assert {"purpose": "line_follow", "granted": False, "text_version": "line-oa:@porchcafe"} in (
        consents
    )


def test_without_a_named_account_nothing_is_offered_or_recorded(venue, line):
    agent, phone = venue(line_config(line_oa=None))
    target = _start(phone)
    assert "bot_prompt" not in target
    assert phone.get(line.approve(target)).status_code == 303
    purposes = [c["purpose"] for c in agent.logins[0]["data"]["consents"]]
    assert "line_follow" not in purposes


def test_friendship_status_that_fails_leaves_the_follow_unknown(venue, line):
    agent, phone = venue(line_config())
    line.friendship_status = 500
    assert phone.get(line.approve(_start(phone))).status_code == 303
    assert agent.online_macs() == {GUEST_MAC}  # following is never a condition
    purposes = [c["purpose"] for c in agent.logins[0]["data"]["consents"]]
    assert "line_follow" not in purposes


def test_slow_friendship_status_leaves_the_follow_unknown(venue, line):
    """Token and ID token answer at once, the friendship call outlasts OAUTH_TIMEOUT:
    the guest is online, the login is stored whole, the follow status is unknown."""
    agent, phone = venue(line_config(), timeout=0.3)
    line.slow_friendship = 5.0  # released at teardown
    back = line.approve(_start(phone, consent_marketing="yes"))
    started = time.monotonic()
    answer = phone.get(back)
    assert time.monotonic() - started < 1.5  # one timeout, not the fake's 5 s
    assert line.friendship_asked == 1
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/success")
    assert agent.online_macs() == {GUEST_MAC}  # following is never a condition
    [event] = agent.logins
    login = event["data"]
    assert login["channel"] == "line" and login["social_id"] == f"line:{LINE_USER}"
    assert login["name"] == "สมชาย ใจดี" and login["email"] == "somchai@example.co.th"
    assert {"purpose": "marketing", "granted": True, "text_version": "mkt-v1"} in login["consents"]
    assert "line_follow" not in [c["purpose"] for c in login["consents"]]


def _refused(agent, answer, status, text):
    body = answer.get_data(as_text=True)
    assert answer.status_code == status
    assert text in body
    assert 'value="form"' in body and 'value="google"' in body  # the other channels
    assert agent.online_macs() == set()
    assert agent.logins == []


def test_slow_line_is_a_thai_message_and_nothing_is_stored(venue, line):
    agent, phone = venue(line_config())
    back = line.approve(_start(phone))
    line.slow = 2.0  # OAUTH_TIMEOUT is 1 s
    started = time.monotonic()
    answer = phone.get(back, headers={"Accept-Language": "th"})
    assert time.monotonic() - started < 1.9
    _refused(agent, answer, 502, "การเข้าสู่ระบบด้วยโซเชียลไม่สำเร็จ")


def test_line_refusing_the_code_is_a_vietnamese_message(venue, line):
    agent, phone = venue(line_config())
    back = line.approve(_start(phone, lang="vi"))
    line.codes.clear()
    answer = phone.get(back, headers={"Accept-Language": "vi"})
    _refused(agent, answer, 502, "Đăng nhập bằng mạng xã hội chưa hoàn tất")


def test_forged_state_is_refused_in_english(venue, line):
    agent, phone = venue(line_config())
    back = line.approve(_start(phone, lang="en"))
    answer = phone.get(back.replace("state=", "state=forged"), headers={"Accept-Language": "en"})
    _refused(agent, answer, 400, "The social login did not finish.")
    assert phone.get(back).status_code == 400  # the pending login was used up


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "not-a-line-user"},
        {"sub": None},
        {"aud": "someone-elses-channel"},
        {"nonce": "replayed-nonce"},
        {"error": "invalid_request"},
    ],
)
def test_unexpected_profile_is_refused_and_nothing_is_stored(venue, line, claims):
    agent, phone = venue(line_config())
    line.claims = claims
    answer = phone.get(line.approve(_start(phone, lang="en")), headers={"Accept-Language": "en"})
    _refused(agent, answer, 502, "The social login did not finish.")


def test_guest_who_cancels_at_line_can_choose_another_way(venue, line):
    agent, phone = venue(line_config())
    target = _start(phone, lang="th")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query))["state"]
    answer = phone.get(
        f"{PORTAL}/oauth/line/callback?error=access_denied&state={state}",
        headers={"Accept-Language": "th"},
    )
    _refused(agent, answer, 400, "การเข้าสู่ระบบด้วยโซเชียลไม่สำเร็จ")


@pytest.mark.parametrize(
    ("lang", "hint", "add"),
    [
        ("th", "LINE จะถามว่าคุณต้องการเพิ่ม", "เพิ่ม Café Sài Gòn เป็นเพื่อนใน LINE"),
        ("vi", "LINE sẽ hỏi bạn có muốn kết bạn", "Kết bạn với Café Sài Gòn trên LINE"),
        ("en", "That is up to you: the Wi-Fi works either way.", "Add Café Sài Gòn on LINE"),
    ],
)
def test_guest_page_offers_line_and_says_following_is_optional(lang, hint, add):
    from porchlight.guest_page.page import render_login, render_success

    config = line_config()
    config["portal"]["chat"]["zalo_oa"] = "4242424242"
    html = render_login(config, lang, social=["line"])
    assert 'name="channel" value="line"' in html and "LINE" in html
    assert hint in html
    success = render_success(config, lang)
    assert 'href="https://line.me/R/ti/p/@porchcafe"' in success and add in success
    assert 'href="https://zalo.me/4242424242"' in success
    plain = line_config(line_oa=None)
    assert hint not in render_login(plain, lang, social=["line"])
    assert "line.me/R/ti/p" not in render_success(plain, lang)


def test_success_page_with_follow_links_waits_for_the_guest(venue, line):
    """The follow links are the only offer of the venue's LINE/Zalo account: the page
    does not forward to the venue's success_url after 3 s, it offers a Continue button."""
    config = line_config()
    config["portal"]["chat"]["zalo_oa"] = "4242424242"
    _agent, phone = venue(config)
    done = phone.get(line.approve(_start(phone, lang="en")))
    body = phone.get(f"{PORTAL}{done.headers['Location']}").get_data(as_text=True)
    assert 'href="https://line.me/R/ti/p/@porchcafe"' in body
    assert 'href="https://zalo.me/4242424242"' in body
    assert 'http-equiv="refresh"' not in body
    assert '<a class="btn" href="http://internet.test/welcome">Continue</a>' in body


def test_success_page_without_follow_links_still_forwards(venue, line):
    _agent, phone = venue(line_config(line_oa=None))
    done = phone.get(line.approve(_start(phone, lang="en")))
    body = phone.get(f"{PORTAL}{done.headers['Location']}").get_data(as_text=True)
    assert 'http-equiv="refresh" content="3;url=http://internet.test/welcome"' in body
    assert '<a class="btn" href="http://internet.test/welcome">Continue</a>' in body
