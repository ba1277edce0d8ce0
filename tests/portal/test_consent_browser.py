"""In Chromium at 390 px: Connect without the required box opens the page at its error.

Real portal and real agent. The consent box sits below the fold of a phone's
screen (the venue's logo and a welcome of a few sentences, the "welcome back"
offer of a device that was here before, the email field); after the post the
error is in view, with JavaScript and without, in vi, th and en; the terms
open with one tap.
"""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import pytest
from PIL import Image
from portal_helpers import form_post, phone_client

from porchlight.portal.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))
from agentkit import started_agent  # noqa: E402  (the agent's own test runner)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 664}  # an iPhone 12-15's page area with Safari's bars shown
MAC = "3a:bb:cc:dd:ee:77"
WELCOME = {
    "vi": "Chào mừng bạn đến Café Sài Gòn! Wi-Fi miễn phí 2 giờ cho mỗi lần ghé. "
    "Điền tên và số điện thoại để nhận ưu đãi sinh nhật và tích điểm thành viên.",
    "th": "ยินดีต้อนรับสู่ Café Sài Gòn! ใช้ Wi-Fi ฟรี 2 ชั่วโมงต่อการมาแต่ละครั้ง "
    "กรอกชื่อและเบอร์โทรเพื่อรับสิทธิพิเศษวันเกิดและสะสมแต้มสมาชิก",
    "en": "Welcome to Café Sài Gòn! Free Wi-Fi for 2 hours each visit. Leave your "
    "name and phone number for birthday offers and member points.",
}
CONNECT = {"vi": "Kết nối", "th": "เชื่อมต่อ", "en": "Connect"}
ERROR = {
    "vi": "Vui lòng đồng ý để sử dụng Wi-Fi.",
    "th": "กรุณายอมรับเพื่อใช้งาน Wi-Fi",
    "en": "Please accept to use the Wi-Fi.",
}
TERMS = {"vi": "Đọc điều khoản Wi-Fi", "th": "อ่านเงื่อนไขการใช้ Wi-Fi", "en": "Read the Wi-Fi terms"}


def _logo() -> str:
    out = io.BytesIO()
    Image.new("RGB", (480, 240), (15, 118, 110)).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def live(tmp_path, serve_wsgi):
    with started_agent(tmp_path) as (agent, kernel):
        agent.gate.seen(MAC, ip="127.0.0.1")
        config = dict(agent.gate.config)
        config["portal"] = {
            **config["portal"],
            "venue_name": "Café Sài Gòn",
            "logo_url": _logo(),
            "welcome": WELCOME,
            "channels": ["form", "click"],
            "fields": {"name": "required", "phone": "required", "email": "optional"},
        }
        agent.apply_config(config)
        app = create_app({"SECRET_KEY": "browser-test", "AGENT_SOCKET": str(agent.server.path)})
        # This phone was here last week: the page offers "welcome back" above the form.
        first = {"channel": "form", "name": "Lê An", "phone": "0987654321", "consent_wifi": "yes"}
        assert form_post(phone_client(app, "127.0.0.1"), first).status_code == 303
        agent.gate.deauthorize(MAC)
        yield serve_wsgi(app), kernel


def _in_view(page, selector: str) -> bool:
    return page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                  return r.top >= 0 && r.bottom <= window.innerHeight; }""",
        selector,
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", ["vi", "th", "en"])
def test_connect_without_consent_opens_at_the_error(browser, live, lang, javascript):
    base, kernel = live
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        java_script_enabled=javascript,
    )  # fmt: skip
    page = context.new_page()
    page.goto(f"{base}/?lang={lang}")
    below_fold = page.evaluate(
        "document.querySelector('input[name=consent_wifi]').getBoundingClientRect().top"
    )
    assert below_fold > PHONE["height"], "the box must start below the fold for this to mean much"
    page.fill("#f-name", "Trần Thị Lan")
    page.fill("#f-phone", "0912 345 678")
    page.get_by_role("button", name=CONNECT[lang], exact=True).click()
    page.wait_for_url("**/login#error")
    error = page.locator("#consent_wifi-err")
    assert error.inner_text() == ERROR[lang]
    assert _in_view(page, "#consent_wifi-err")
    assert _in_view(page, "input[name=consent_wifi]")
    box = page.locator("input[name=consent_wifi]").bounding_box()
    under = error.bounding_box()
    assert 0 <= under["y"] - (box["y"] + box["height"]) < 40  # right under its box
    # the browser went to the #error fragment: the consent's box (autofocus yields to it)
    assert page.evaluate("document.querySelector(':target').contains(document.querySelector("
                         "'input[name=consent_wifi]'))")  # fmt: skip
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator("#f-name").input_value() == "Trần Thị Lan"
    ARTIFACTS.mkdir(exist_ok=True)
    suffix = "" if javascript else "-nojs"
    page.screenshot(path=str(ARTIFACTS / f"portal-consent-error-{lang}{suffix}.png"))

    page.get_by_text(TERMS[lang]).click()  # one tap: the terms open in place
    terms = page.locator("details.terms p").first
    assert terms.is_visible()
    if lang == "en" and javascript:
        page.screenshot(path=str(ARTIFACTS / "portal-consent-terms-en.png"))
    page.check("input[name=consent_wifi]")
    page.get_by_role("button", name=CONNECT[lang], exact=True).click()
    page.wait_for_url("**/success*")
    assert MAC in kernel.sets.get("allowed", {})
    context.close()
