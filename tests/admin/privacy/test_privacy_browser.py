"""Chromium on the privacy pages: turn retention on through its preview, answer a guest's
erasure request. Screenshots land in test-artifacts/admin/ (looked at, not asserted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.db import utcnow

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "admin"


@pytest.mark.parametrize("locale", ["vi", "th", "en"])
def test_retention_preview_and_erasure_request(
    app, engine, world, factory, serve_wsgi, browser, password, locale
) -> None:
    old = datetime(2020, 5, 1, 3, tzinfo=UTC)
    factory.customer(
        world.tenant_id, "Khách Cũ", phone="+84912000101", visits=[(world.q1, old, "form")]
    )
    lan = factory.customer(
        world.tenant_id, "Trần Thị Lan", phone="+84912000102", visits=[(world.q1, utcnow(), "form")]
    )
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            schema.guest_requests.insert().values(
                tenant_id=world.tenant_id, customer_id=lan, location_id=world.q1,
                event_id="6c1f0c3e-2222-4a2b-9c3d-000000000002", kind="erasure", status="open",
                requested_at=now - timedelta(hours=5), received_at=now - timedelta(hours=5),
                due_at=now + timedelta(hours=67),
            )
        )  # fmt: skip
    base = serve_wsgi(app)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    owner = world.users["owner"]
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', owner["email"])
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"].primary')
    page.wait_for_url(f"{base}/")
    if locale != "en":
        page.click(f'button.lang[value="{locale}"]')
        page.wait_for_load_state()
    page.goto(f"{base}/privacy")
    page.check('input[name="enabled"]')
    page.click("#retention form.stack button[type=submit]")
    page.wait_for_load_state()
    page.screenshot(path=str(ARTIFACTS / f"privacy-preview-{locale}.png"), full_page=True)
    assert page.locator(".notice.warn button.danger").count() == 1  # "turn on and erase 1"
    page.click(".notice.warn button.danger")
    page.wait_for_load_state()
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.privacy_settings.c.retention_enabled)).scalar() is True
    page.goto(f"{base}/privacy/requests")
    page.screenshot(path=str(ARTIFACTS / f"privacy-requests-{locale}.png"), full_page=True)
    assert page.locator(".countdown").count() == 1
    page.goto(f"{base}/customers/{lan}")
    page.screenshot(path=str(ARTIFACTS / f"customer-erasure-request-{locale}.png"))
    assert page.locator('[data-testid="erasure-request"]').count() == 1
    page.close()
