"""The page in Debian's Chromium at phone size: each language, errors by the fields, a login."""

from __future__ import annotations

from pathlib import Path

import pytest
from portal_fake_agent import FakeAgent

from porchlight.portal.app import create_app

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 360, "height": 740}


@pytest.fixture
def live(serve_wsgi):
    agent = FakeAgent().start()
    agent.add_client("127.0.0.1", "3a:bb:cc:dd:ee:01")
    app = create_app({"SECRET_KEY": "browser-test", "AGENT_SOCKET": agent.path})
    yield serve_wsgi(app), agent
    agent.cleanup()


def _phone(browser, javascript=True):
    return browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        java_script_enabled=javascript,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "heading", "button"),
    [("vi", "Thông tin của bạn", "Kết nối"), ("th", "ข้อมูลของคุณ", "เชื่อมต่อ"),
     ("en", "Your details", "Connect")],
)  # fmt: skip
def test_page_in_each_language_fits_a_phone(browser, live, lang, heading, button):
    base, _ = live
    context = _phone(browser)
    page = context.new_page()
    page.goto(f"{base}/?lang={lang}")
    assert page.get_by_role("heading", name=heading).is_visible()
    assert page.get_by_role("button", name=button, exact=True).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"portal-login-{lang}.png"), full_page=True)
    context.close()


def test_errors_show_next_to_their_fields(browser, live):
    base, agent = live
    context = _phone(browser)
    page = context.new_page()
    page.goto(f"{base}/?lang=en")
    page.fill("#f-name", "Lan")
    page.fill("#f-phone", "12345")
    page.check("input[name=consent_wifi]")
    page.get_by_role("button", name="Connect", exact=True).click()
    error = page.locator("#phone-err")
    assert error.inner_text() == "This phone number does not look right."
    field = page.locator("#f-phone").bounding_box()
    under = error.bounding_box()
    assert 0 <= under["y"] - (field["y"] + field["height"]) < 20  # right under the field
    assert page.locator("#f-name").input_value() == "Lan"
    page.screenshot(path=str(ARTIFACTS / "portal-login-error.png"), full_page=True)
    assert agent.online_macs() == set()
    context.close()


def test_whole_login_without_javascript(browser, live):
    base, agent = live
    context = _phone(browser, javascript=False)
    page = context.new_page()
    page.goto(f"{base}/?lang=vi")
    page.fill("#f-name", "Trần Thị Lan")
    page.fill("#f-phone", "0912 345 678")
    page.check("input[name=consent_wifi]")
    page.get_by_role("button", name="Kết nối", exact=True).click()
    page.wait_for_url("**/success*")
    assert page.get_by_role("heading", name="Bạn đã kết nối").is_visible()
    page.screenshot(path=str(ARTIFACTS / "portal-success-vi.png"), full_page=True)
    assert agent.online_macs() == {"3a:bb:cc:dd:ee:01"}
    assert agent.logins[0]["data"]["phone"] == "+84912345678"
    context.close()


def test_returning_device_gives_its_phone_digits_and_taps_among_social_buttons(browser, serve_wsgi):
    agent = FakeAgent().start()
    remembered = {"name": "Somchai", "channel": "form", "phone_check": True}
    agent.add_client("127.0.0.1", "3a:bb:cc:dd:ee:02", remembered=remembered)
    app = create_app(
        {
            "SECRET_KEY": "browser-test",
            "AGENT_SOCKET": agent.path,
            "OAUTH_PROVIDERS": {
                name: {"client_id": "id", "client_secret": "secret"}
                for name in ("zalo", "facebook", "google")
            },
        }
    )
    url = serve_wsgi(app)
    try:
        context = _phone(browser)
        page = context.new_page()
        page.goto(f"{url}/?lang=th")
        assert page.get_by_role("heading", name="ยินดีต้อนรับกลับมา คุณ Somchai!").is_visible()
        for provider in ("Zalo", "Facebook", "Google"):
            assert page.get_by_role("button", name=f"ดำเนินการต่อด้วย {provider}").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "portal-returning-th.png"), full_page=True)
        page.get_by_label("เลข 3 ตัวท้ายของหมายเลขโทรศัพท์ของคุณ").fill("678")
        page.get_by_role("button", name="เชื่อมต่ออีกครั้ง").click()
        page.wait_for_url("**/success*")
        assert agent.logins[0]["data"]["channel"] == "returning"
        assert agent.proofs == [{"phone_tail": "678"}]
        context.close()
    finally:
        agent.cleanup()


def test_language_switcher_is_a_plain_link_that_sticks(browser, live):
    base, _ = live
    context = _phone(browser, javascript=False)
    page = context.new_page()
    page.goto(f"{base}/?lang=vi")
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Your details").is_visible()
    page.goto(f"{base}/")
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()
