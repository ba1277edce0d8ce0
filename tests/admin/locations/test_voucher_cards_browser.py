"""In Chromium: the printable cards of a Thai location, read back from the screen by zxing-cpp."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from porchlight.admin import schema

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.fixture
def page(browser: Any, app: Any, world: Any, serve_wsgi: Any, password: str) -> Iterator[Any]:
    live = str(serve_wsgi(app))
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.goto(live + "/login")
    tab.fill("input[name=email]", world.users["owner"]["email"])
    tab.fill("input[name=password]", password)
    tab.click("button[type=submit]")
    tab.wait_for_url(re.compile(r"^(?!.*login).*$"))
    tab.live = live
    yield tab
    context.close()


def test_thai_cards_on_screen_join_the_wifi(page: Any, engine: Any, world: Any) -> None:
    page.goto(f"{page.live}/locations/{world.q3}/edit")
    page.select_option("select[name=country]", "TH")
    page.fill("input[name=timezone]", "Asia/Bangkok")
    page.fill("input[name=wifi_ssid]", "ร้านกาแฟ Q3")
    page.fill("input[name=wifi_password]", "chai;yen,2026")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("ร้านกาแฟ Q3 · with a password").wait_for()

    page.goto(f"{page.live}/locations/{world.q3}/vouchers")
    page.fill("input[name=count]", "4")
    page.get_by_role("button", name="Make codes").click()
    page.get_by_test_id("print-link").click()
    cards = page.get_by_test_id("voucher-card")
    cards.first.wait_for()
    assert cards.count() == 4
    first = cards.first.inner_text()
    assert "เชื่อมต่อ Wi-Fi “ร้านกาแฟ Q3” (รหัสผ่าน: chai;yen,2026) หรือสแกนคิวอาร์โค้ด" in first
    assert "2 ชั่วโมง" in first
    with engine.connect() as conn:
        made = set(conn.execute(sa.select(schema.vouchers.c.code)).scalars())
    assert {cards.nth(i).locator(".vc-code").inner_text() for i in range(4)} == made

    ARTIFACTS.mkdir(exist_ok=True)
    shot = page.screenshot(path=str(ARTIFACTS / "voucher-cards-th.png"), full_page=True)
    read = {r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))}
    assert read == {"WIFI:S:ร้านกาแฟ Q3;T:WPA;P:chai\\;yen\\,2026;;"}
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "voucher-cards-th-print.png"), full_page=True)


@pytest.mark.parametrize("locale", ["vi", "th", "en"])
def test_the_location_pages_with_the_wifi_and_ways_in_fit_a_phone(
    browser: Any, app: Any, world: Any, serve_wsgi: Any, password: str, factory: Any, locale: str
) -> None:
    user = factory.user(world.tenant_id, "owner", locale=locale)
    live = str(serve_wsgi(app))
    tab = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    tab.goto(live + "/login")
    tab.fill("input[name=email]", user["email"])
    tab.fill("input[name=password]", password)
    tab.click("button[type=submit]")
    tab.wait_for_url(re.compile(r"^(?!.*login).*$"))
    ARTIFACTS.mkdir(exist_ok=True)
    for name, path in (
        ("show", f"/locations/{world.q1}"),
        ("edit", f"/locations/{world.q1}/edit"),
        ("vouchers", f"/locations/{world.q1}/vouchers"),
    ):
        tab.goto(live + path)
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        tab.screenshot(path=str(ARTIFACTS / f"location-{name}-{locale}-390.png"), full_page=True)
    tab.close()
