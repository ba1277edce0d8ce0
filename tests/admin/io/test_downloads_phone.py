"""Chromium at 390 px: Downloads with exports made at once and as jobs, in local time.

A Bangkok tenant (Thai owner) exports a small filtered list (the file comes at
once) and a bigger one (a job, run by the worker); Downloads lists both with
their times in Bangkok time and the zone named, and fits a phone. The
screenshots land in test-artifacts/admin/width/ for people to look at.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from porchlight.admin import schema
from porchlight.admin.io.exports import immediate
from porchlight.admin.io.worker import run_pending

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "admin" / "width"
VISIT = datetime(2026, 12, 6, 17, 10, tzinfo=UTC)


@pytest.fixture
def siam(app, factory, serve_wsgi):
    tenant = factory.tenant("siam", "Siam Coffee")
    with factory.engine.begin() as conn:
        t = schema.tenants
        conn.execute(t.update().where(t.c.id == tenant).values(country="TH"))
    place = factory.location(tenant, "สาขาสุขุมวิท 24", country="TH", timezone="Asia/Bangkok")
    for i in range(6):
        tags = ["VIP"] if i < 2 else []
        visits = [(place, VISIT, "line")]
        factory.customer(tenant, f"ลูกค้า {i}", phone=f"+6681234567{i}", visits=visits, tags=tags)
    owner = factory.user(tenant, "owner", locale="th")
    return {"url": serve_wsgi(app), "owner": owner, "place": place}


def _sign_in(browser, base, user, password):
    page = browser.new_page(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', user["email"])
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"].primary')
    page.wait_for_url(f"{base}/")
    return page


def test_downloads_on_a_phone_in_local_time(monkeypatch, browser, app, siam, password):
    base = siam["url"]
    page = _sign_in(browser, base, siam["owner"], password)
    page.goto(f"{base}/customers?tag=VIP&location={siam['place']}&channel=line")
    with page.expect_download() as info:
        page.click("#export-button")  # 2 rows: the file at once
    assert info.value.suggested_filename.startswith("customers-2026-")
    assert info.value.suggested_filename.endswith(".xlsx")
    monkeypatch.setattr(immediate, "IMMEDIATE_MAX_ROWS", 3)
    page.goto(f"{base}/customers")
    page.select_option('select[name="format"]', "csv")
    page.click("#export-button")  # 6 rows: a job
    page.wait_for_url("**/downloads")
    assert run_pending(app.extensions["porchlight.engine"], app.config["DATA_DIR"]) == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for locale in ("th", "vi"):
        if locale == "vi":
            page.click('button.lang[value="vi"]')
            page.wait_for_load_state()
        page.goto(f"{base}/downloads")
        caption = page.locator("#times-zone").inner_text()
        assert "Asia/Bangkok (UTC+7)" in caption
        rows = page.locator("#exports tbody tr")
        assert rows.count() == 2
        assert "VIP" in rows.nth(1).inner_text() and "LINE" in rows.nth(1).inner_text()
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(ARTIFACTS / f"downloads-exports-{locale}-390.png"), full_page=True)
        assert width <= page.evaluate("window.innerWidth"), locale
