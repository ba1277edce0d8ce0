"""Chromium: a Thai follower's customer page shows their chat buttons (screenshot)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_chat_links import LINE_USER, OA_USER, _follow, line_location  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "admin"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


def test_customer_page_chat_buttons_in_thai(
    app,
    world,
    factory,
    engine,
    serve_wsgi,
    browser,
    password,
    line_location,  # noqa: F811
):
    cid = factory.customer(
        world.tenant_id,
        "สมชาย ใจดี",
        "+66812345678",
        visits=[(line_location, T0, "line")],
        social_provider="line",
        social_id=f"line:{LINE_USER}",
    )
    _follow(engine, cid, world.tenant_id, line_location, True, T0)
    base = serve_wsgi(app)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', world.users["owner"]["email"])
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"].primary')
    page.wait_for_url(f"{base}/")
    page.click('button.lang[value="th"]')
    page.wait_for_load_state()
    page.goto(f"{base}/customers/{cid}")
    line = page.get_by_role("link", name="แชทผ่าน LINE")
    assert line.get_attribute("href") == f"https://chat.line.biz/{OA_USER}/chat/{LINE_USER}"
    assert line.get_attribute("target") == "_blank"
    whatsapp = page.get_by_role("link", name="แชทผ่าน WhatsApp")
    assert whatsapp.get_attribute("href") == "https://wa.me/66812345678"
    assert page.get_by_role("link", name="แชทผ่าน Zalo").count() == 0
    assert page.get_by_text("เป็นเพื่อนใน LINE").is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "customer-chat-buttons-th.png"), full_page=False)
    page.close()
