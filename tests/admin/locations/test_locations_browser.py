"""In Chromium: the guest-page preview follows edits; vouchers come out as cards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import schema

pytestmark = pytest.mark.browser


@pytest.fixture
def live(app: Any, world: Any, serve_wsgi: Any) -> str:
    return str(serve_wsgi(app))


@pytest.fixture
def page(browser: Any, live: str, world: Any, password: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.goto(live + "/login")
    tab.fill("input[name=email]", world.users["owner"]["email"])
    tab.fill("input[name=password]", password)
    tab.click("button[type=submit]")
    tab.wait_for_url(re.compile(r"^(?!.*login).*$"))
    yield tab
    context.close()


def test_preview_follows_welcome_text_and_color_then_save(
    page: Any, live: str, world: Any, engine: Any
) -> None:
    page.goto(f"{live}/locations/{world.q1}/guest-page")
    preview = page.frame_locator("iframe[name=guest-preview]")
    page.locator(".lang-btn[data-lang=en]").click()
    with page.expect_response(lambda r: "/preview" in r.url):
        page.fill("textarea[name=welcome_en]", "Xin chào, free Wi-Fi at Q1!")
    page.fill("input[name=color_primary]", "#b42318")
    preview.get_by_text("Xin chào, free Wi-Fi at Q1!").wait_for()
    button = preview.locator("button[type=submit]").first
    page.wait_for_function(
        "() => { const f = document.querySelector('iframe[name=guest-preview]');"
        " const b = f.contentDocument && f.contentDocument.querySelector('button[type=submit]');"
        " return b && getComputedStyle(b).backgroundColor === 'rgb(180, 35, 24)'; }"
    )
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(180, 35, 24)"
    with engine.connect() as conn:  # previewing saved nothing
        assert conn.execute(sa.select(sa.func.count(schema.portal_settings.c.id))).scalar() == 0
    page.get_by_role("button", name="Save as a new version").click()
    page.get_by_text("Saved as version 1").wait_for()
    page.locator(".lang-btn[data-lang=th]").click()
    preview.get_by_text("ยินดีต้อนรับ").wait_for()  # the Thai text, in the saved color
    with engine.connect() as conn:
        saved = conn.execute(sa.select(schema.portal_settings.c.settings)).scalar_one()
    assert saved["portal"]["welcome"]["en"] == "Xin chào, free Wi-Fi at Q1!"
    assert saved["portal"]["colors"]["primary"] == "#b42318"


def test_bad_walled_garden_entry_shows_its_message_and_keeps_the_edit(
    page: Any, live: str, world: Any, engine: Any
) -> None:
    page.goto(f"{live}/locations/{world.q1}/guest-page")
    page.fill("textarea[name=walled_garden]", "zalo.me\nhttps://facebook.com/login")
    page.get_by_role("button", name="Save as a new version").click()
    page.locator("#err-walled_garden").wait_for()
    assert "web address" in page.locator("#err-walled_garden").inner_text()
    assert "https://facebook.com/login" in page.input_value("textarea[name=walled_garden]")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count(schema.portal_settings.c.id))).scalar() == 0


def test_make_vouchers_and_see_the_cards(page: Any, live: str, world: Any, engine: Any) -> None:
    page.goto(f"{live}/locations/{world.q1}/vouchers")
    page.fill("input[name=count]", "6")
    page.fill("input[name=duration]", "3")
    page.select_option("select[name=unit]", "hours")
    page.get_by_role("button", name="Make codes").click()
    page.get_by_text("6 voucher codes created").wait_for()
    page.get_by_test_id("print-link").click()
    cards = page.get_by_test_id("voucher-card")
    cards.first.wait_for()
    assert cards.count() == 6
    with engine.connect() as conn:
        made = set(conn.execute(sa.select(schema.vouchers.c.code)).scalars())
    shown = {cards.nth(i).locator(".vc-code").inner_text() for i in range(6)}
    assert shown == made
    assert "3 giờ" in cards.first.inner_text()  # Q1 is in Vietnam: its cards speak Vietnamese
