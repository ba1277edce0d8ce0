"""A LINE login in Debian's Chromium at phone size, against the fake LINE platform."""

from __future__ import annotations

from pathlib import Path

import pytest
from portal_fake_agent import FakeAgent
from test_line_login import LINE_USER, FakeLine, line_config

from porchlight.portal.app import create_app

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def line_venue(serve_wsgi):
    line = FakeLine()
    config = line_config()
    config["portal"]["chat"]["zalo_oa"] = "4242424242"
    config["portal"]["success_url"] = None
    agent = FakeAgent(config).start()
    agent.add_client("127.0.0.1", "3a:bb:cc:dd:ee:01")
    base = line.base
    app = create_app(
        {
            "SECRET_KEY": "browser-test",
            "AGENT_SOCKET": agent.path,
            "OAUTH_PROVIDERS": {
                "line": {
                    "client_id": "1657000000",
                    "client_secret": "line-s3cret",
                    "authorize_url": f"{base}/oauth2/v2.1/authorize",
                    "token_url": f"{base}/oauth2/v2.1/token",
                    "userinfo_url": f"{base}/oauth2/v2.1/verify",
                    "friendship_url": f"{base}/friendship/v1/status",
                },
                "zalo": {"client_id": "4242", "client_secret": "s"},
            },
        }
    )
    yield serve_wsgi(app), agent, line
    agent.cleanup()
    line.server.shutdown()
    line.server.server_close()


def test_line_login_in_thai_on_a_phone(browser, line_venue):
    base, agent, line = line_venue
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(f"{base}/?lang=th")
    button = page.locator("button[name=channel][value=line]")
    assert button.is_visible() and "LINE" in button.inner_text()
    assert page.get_by_text("LINE จะถามว่าคุณต้องการเพิ่ม").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "portal-line-login-th.png"), full_page=True)

    page.check("input[name=consent_wifi]")
    button.click()
    page.wait_for_url(f"{base}/success*")
    add = page.get_by_role("link", name="เพิ่ม Café Sài Gòn เป็นเพื่อนใน LINE")
    assert add.get_attribute("href") == "https://line.me/R/ti/p/@porchcafe"
    page.screenshot(path=str(ARTIFACTS / "portal-line-success-th.png"), full_page=True)
    context.close()
    login = agent.logins[0]["data"]
    assert login["social_id"] == f"line:{LINE_USER}"
    assert {"purpose": "line_follow", "granted": True, "text_version": "line-oa:@porchcafe"} in (
        login["consents"]
    )
    assert line.authorize_queries[0]["bot_prompt"] == "aggressive"
