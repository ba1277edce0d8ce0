"""Chromium: the scope on screen is the scope in the file, for each trap managers fell into.

1. Ticking rows switches the export to "3 selected" (it stayed on "All
   customers" and the file held everyone).
2. An export clears the selection, and a selection belongs to its list: a
   later filtered list offers "N matching the filters" and the file holds
   those N (it defaulted to stale "Selected rows" and held 4 old rows).
3. Two quick ticks both land: the page says 5 selected, 5 are stored and
   the file holds 5 (one of two racing writes was lost).
Each Downloads row says what it holds: scope with count, filters, format.
(These exports are small: each is the download itself, listed on Downloads.)
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from porchlight.admin.io.worker import run_pending

pytestmark = [pytest.mark.browser, pytest.mark.slow]
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
VIP = 7


@pytest.fixture
def server(app: Any, world: Any, factory: Any, serve_wsgi: Any) -> str:
    for i in range(24):
        factory.customer(
            world.tenant_id,
            f"Khách {i:02d}",
            f"+8491{i:07d}",
            visits=[(world.q1, T0 + timedelta(hours=i), "form")],
            tags=["vip"] if i < VIP else ["wifi"],
        )
    return str(serve_wsgi(app))


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def _sign_in(browser: Any, base: str, user: dict[str, Any], password: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', user["email"])
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"].primary')
    page.wait_for_url(f"{base}/")
    return page


def _settled(page: Any) -> None:
    expect(page.locator("#select-form")).to_have_attribute("data-pending", "0")


def _export_csv(page: Any, app: Any) -> tuple[str, list[list[str]]]:
    """Export as CSV with the scope on screen: a small export is the download itself;
    its Downloads row says what it holds."""
    page.select_option('select[name="format"]', "csv")
    with page.expect_download() as info:
        page.click("#export-button")
    body = Path(info.value.path()).read_bytes()
    assert run_pending(app.extensions["porchlight.engine"], app.config["DATA_DIR"]) == 0
    expect(page.locator("#selected-count")).to_have_text(re.compile(r"^0 "))  # cleared here too
    page.goto(page.url.split("/customers")[0] + "/downloads")
    what = page.locator("#exports tbody tr").first.locator(".export-what").inner_text()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return what, rows[1:]


def test_ticking_rows_switches_the_export_to_those_rows(
    server: str, browser: Any, app: Any, world: Any, password: str
) -> None:
    page = _sign_in(browser, server, world.users["owner"], password)
    page.goto(f"{server}/customers?sort=name")
    scope = page.locator("#export-scope")
    expect(scope).to_have_value("all")
    expect(scope.locator("option[value=all]")).to_have_text("all 24")
    for box in page.locator('input[name="pick"]').all()[:3]:
        box.check()
    _settled(page)
    expect(page.locator("#selected-count")).to_have_text(re.compile(r"^3 "))
    expect(scope).to_have_value("selected")
    expect(scope.locator("option[value=selected]")).to_have_text("3 selected")
    what, rows = _export_csv(page, app)
    assert what.startswith("3 selected") and "CSV" in what
    assert [r[1] for r in rows] == ["Khách 00", "Khách 01", "Khách 02"]


def test_an_export_clears_the_selection_and_another_list_has_its_own(
    server: str, browser: Any, app: Any, world: Any, password: str
) -> None:
    page = _sign_in(browser, server, world.users["owner"], password)
    page.goto(f"{server}/customers?sort=name")
    for box in page.locator('input[name="pick"]').all()[-4:]:
        box.check()
    _settled(page)
    what, rows = _export_csv(page, app)
    assert what.startswith("4 selected") and len(rows) == 4
    page.goto(f"{server}/customers?sort=name")  # the same list: nothing ticked any more
    expect(page.locator("#selected-count")).to_have_text(re.compile(r"^0 "))
    page.goto(f"{server}/customers?tag=vip")  # a later, filtered list
    scope = page.locator("#export-scope")
    expect(scope).to_have_value("filtered")
    expect(scope.locator("option[value=filtered]")).to_have_text(f"{VIP} matching the filters")
    expect(scope.locator("option[value=selected]")).to_be_disabled()
    what, rows = _export_csv(page, app)
    assert what.startswith(f"{VIP} matching the filters") and "tags vip" in what
    assert len(rows) == VIP and all("vip" in r[4] for r in rows)


def test_quick_ticks_all_land(
    server: str, browser: Any, app: Any, world: Any, password: str
) -> None:
    page = _sign_in(browser, server, world.users["manager"], password)
    page.goto(f"{server}/customers?sort=name")
    # five ticks in one go: their saves are in flight together
    page.evaluate(
        "Array.from(document.querySelectorAll('input[name=pick]')).slice(0, 5)"
        ".forEach(function (b) { b.click(); })"
    )
    _settled(page)
    expect(page.locator("#selected-count")).to_have_text(re.compile(r"^5 "))
    page.reload()
    expect(page.locator("#selected-count")).to_have_text(re.compile(r"^5 "))
    expect(page.locator('input[name="pick"]:checked')).to_have_count(5)
    expect(page.locator("#export-scope")).to_have_value("selected")
    what, rows = _export_csv(page, app)
    assert what.startswith("5 selected") and len(rows) == 5
