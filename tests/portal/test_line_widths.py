"""Chromium: the guest page with LINE in vi and th at 390 and 1366 px.

The login page (LINE's button and the add-friend note), the page a LINE login
that failed comes back to (the message in the guest's language, the other
ways in) and the success page (the venue's LINE and Zalo accounts to follow):
nothing wider than the window. Screenshots: test-artifacts/
portal-line-<page>-<lang>-<width>.png (looked at by people).
"""

from __future__ import annotations

import pytest
from test_line_browser import ARTIFACTS, line_venue  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

WORDS = {
    "vi": ("Đăng nhập bằng mạng xã hội chưa hoàn tất", "Kết bạn với Café Sài Gòn trên LINE"),
    "th": ("การเข้าสู่ระบบด้วยโซเชียลไม่สำเร็จ", "เพิ่ม Café Sài Gòn เป็นเพื่อนใน LINE"),
}


def _fits(page, width: int, what: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{what}: {scroll} px wide in a {width} px window"


@pytest.mark.parametrize("lang", ["vi", "th"])
def test_line_pages_fit_a_phone_and_a_desktop(browser, line_venue, lang):  # noqa: F811
    base, agent, line = line_venue
    failed, add = WORDS[lang]
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (390, 1366):
        context = browser.new_context(viewport={"width": width, "height": 844})
        page = context.new_page()
        page.goto(f"{base}/?lang={lang}")
        assert page.locator("button[name=channel][value=line]").is_visible()
        _fits(page, width, "login")
        page.screenshot(
            path=str(ARTIFACTS / f"portal-line-login-{lang}-{width}.png"), full_page=True
        )

        line.claims = {"sub": "not-a-line-user"}  # an unexpected profile
        page.check("input[name=consent_wifi]")
        page.locator("button[name=channel][value=line]").click()
        page.wait_for_load_state()
        assert page.get_by_text(failed).is_visible()
        assert page.locator("button[name=channel][value=form]").count() == 1  # other ways in
        assert page.locator("button[name=channel][value=zalo]").is_visible()
        _fits(page, width, "failed")
        page.screenshot(
            path=str(ARTIFACTS / f"portal-line-failed-{lang}-{width}.png"), full_page=True
        )
        context.close()
    assert agent.logins == []

    line.claims = {}
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{base}/?lang={lang}")
    page.check("input[name=consent_wifi]")
    page.locator("button[name=channel][value=line]").click()
    page.wait_for_url(f"{base}/success*")
    context.close()
    for width in (390, 1366):
        context = browser.new_context(viewport={"width": width, "height": 844})
        page = context.new_page()
        page.goto(f"{base}/success?lang={lang}")
        assert page.get_by_role("link", name=add).is_visible()
        _fits(page, width, "success")
        page.screenshot(
            path=str(ARTIFACTS / f"portal-line-success-{lang}-{width}.png"), full_page=True
        )
        context.close()
