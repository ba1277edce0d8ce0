"""Chromium: the customer page's four chat buttons in vi and th at 390 and 1366 px.

A Vietnamese mobile who logged in with LINE and Zalo, follows the venue's LINE
OA and opened its m.me link has every button (Zalo, LINE, Messenger,
WhatsApp): the widest the row gets. Each button is inside the window and the
page does not scroll sideways. Screenshots: test-artifacts/admin/
customer-chat-buttons-<lang>-<width>.png (looked at by people).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_chat_links import LINE_USER, _follow, line_location  # noqa: F401 (fixture)

from porchlight.admin import schema

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "admin"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
LABELS = {
    "vi": ("Nhắn tin qua", "Theo dõi trên LINE"),
    "th": ("แชทผ่าน", "เป็นเพื่อนใน LINE"),
}


@pytest.mark.parametrize("lang", ["vi", "th"])
def test_every_chat_button_fits_a_phone_and_a_desktop(
    app,
    world,
    factory,
    engine,
    serve_wsgi,
    browser,
    password,
    line_location,  # noqa: F811
    lang,
):
    cid = factory.customer(
        world.tenant_id,
        "Nguyễn Thị Minh Khai สมชาย ใจดี",
        "+84912345678",
        visits=[(line_location, T0, "zalo"), (line_location, T0 + timedelta(hours=1), "line")],
        social_provider="line",
        social_id=f"line:{LINE_USER}",
    )
    _follow(engine, cid, world.tenant_id, line_location, True, T0)
    with engine.begin() as conn:
        conn.execute(
            schema.messenger_contacts.insert().values(
                customer_id=cid,
                page_id="104857600123456",
                tenant_id=world.tenant_id,
                location_id=line_location,
                psid="24681357902468135",
                linked_at=T0,
            )
        )
    base = serve_wsgi(app)
    prefix, follows = LABELS[lang]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1366):
        page = browser.new_page(viewport={"width": width, "height": 844})
        page.goto(f"{base}/login")
        page.fill('input[name="email"]', world.users["owner"]["email"])
        page.fill('input[name="password"]', password)
        page.click('button[type="submit"].primary')
        page.wait_for_url(f"{base}/")
        page.click(f'button.lang[value="{lang}"]')
        page.wait_for_load_state()
        page.goto(f"{base}/customers/{cid}")
        buttons = page.locator('[data-testid="chat-links"] a[class*="chat-"]')
        texts = buttons.all_inner_texts()
        assert [t.strip() for t in texts] == [
            f"{prefix} {app}" for app in ("Zalo", "LINE", "Messenger", "WhatsApp")
        ]
        for i in range(buttons.count()):
            box = buttons.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
                texts[i],
                box,
            )
        assert page.get_by_text(follows).first.is_visible()
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{scroll} px wide in a {width} px window"
        page.screenshot(
            path=str(ARTIFACTS / f"customer-chat-buttons-{lang}-{width}.png"), full_page=True
        )
        page.close()
