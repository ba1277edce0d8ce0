"""Chromium drives the admin: sign in -> filter -> sort -> edit -> history.

Screenshots of each page in Vietnamese, Thai and English at desktop and
phone widths land in test-artifacts/admin/ (looked at by people, not asserted).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "admin"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)


@pytest.fixture
def server(app, world, factory, serve_wsgi):
    w = world
    for i in range(30):
        channels = ["form", "zalo", "click"]
        visits = [
            (w.q1 if j % 3 else w.q3, T0 + timedelta(days=j, hours=i % 9), channels[j % 3])
            for j in range(i % 12 + 1)
        ]
        factory.customer(
            w.tenant_id, f"{['Nguyễn', 'Trần', 'Lê', 'Phạm'][i % 4]} Thị Khách {i:02d}",
            f"+849{i:08d}", f"khach{i}@example.vn" if i % 2 else None, visits=visits,
            tags=["wifi"] + (["vip"] if i % 5 == 0 else []), spend_total=(i * 37_000) % 500_000,
        )  # fmt: skip
    return serve_wsgi(app)


def expect(locator):
    from playwright.sync_api import expect as pw_expect

    return pw_expect(locator)


def sign_in(page, base, user, password, locale="en"):
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', user["email"])
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"].primary')
    page.wait_for_url(f"{base}/")
    if locale != "en":
        page.click(f'button.lang[value="{locale}"]')
        page.wait_for_load_state()


def test_filter_sort_edit_history(server, browser, world, password):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, server, world.users["owner"], password)
    page.click("text=Customers")
    page.wait_for_selector("table.customers tbody tr")
    assert page.locator("#count-total").inner_text().startswith("30 customers")
    # filter: at Q3 with at least 5 visits (visit counts there), then apply
    page.select_option('select[name="location"]', str(world.q3))
    page.fill('input[name="visits_min"]', "3")
    page.click("text=Apply")
    page.wait_for_url("**location=*")
    assert "visits_min=3" in page.url
    rows = page.locator("table.customers tbody tr")
    assert 0 < rows.count() < 30
    # two count requests at once: the matches, and everyone at Q3 (data-total-src)
    expect(page.locator("#count-match")).to_have_text(f"· {rows.count()} match the filters")
    expect(page.locator("#count-total")).to_have_text(re.compile(r"^\d+ customers at Q3$"))
    # sort by spend: ascending first, then descending on a second click
    page.click("th >> text=Spend")
    page.wait_for_url("**sort=spend*")
    spends = [t for t in page.locator("table.customers td.num:last-child").all_inner_texts()]
    values = [int(re.sub(r"\D", "", s) or 0) for s in spends]
    assert values == sorted(values)
    page.click("th >> text=Spend")
    page.wait_for_url("**sort=spend_desc*")
    values = [
        int(re.sub(r"\D", "", s) or 0)
        for s in page.locator("table.customers td.num:last-child").all_inner_texts()
    ]
    assert values == sorted(values, reverse=True)
    # tick a row: the selection count updates without a reload
    page.locator('input[name="pick"]').first.check()
    expect(page.locator("#selected-count")).to_have_text(re.compile(r"^1 "))
    # open the first customer, edit name/tags/notes
    page.locator("table.customers td.name a").first.click()
    page.wait_for_selector("#edit-form")
    page.fill('#edit-form input[name="name"]', "Khách Sửa <b>Tên</b>")
    page.fill('#edit-form input[name="new_tags"]', "sinh nhật")
    page.fill('#edit-form textarea[name="notes"]', "Thích cà phê sữa đá")
    page.click("#edit-form button[type=submit]")
    page.wait_for_selector(".flash")
    assert page.locator("h1.customer-name").inner_text().startswith("Khách Sửa <b>Tên</b>")
    assert page.locator('#edit-form input[name="tag"][value="sinh nhật"]').is_checked()
    # visit history with pins, local times and channels
    history = page.locator("#visits tbody tr")
    assert history.count() >= 3
    assert page.locator("#visits svg.pin").count() >= 3
    assert "Zalo" in page.locator("#visits").inner_text()


@pytest.mark.parametrize("locale", ["vi", "th", "en"])
def test_screenshots(server, browser, world, password, locale):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height, label in ((1280, 900, "desktop"), (390, 844, "phone")):
        page = browser.new_page(viewport={"width": width, "height": height}, locale=locale)
        page.goto(f"{server}/login")
        page.screenshot(path=ARTIFACTS / f"login-{locale}-{label}.png")
        sign_in(page, server, world.users["owner"], password, locale)
        for name, path in (
            ("dashboard", "/"),
            ("customers", "/customers?tag=wifi"),
            ("groups", "/groups"),
            ("audit", "/audit"),
        ):
            page.goto(server + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=ARTIFACTS / f"{name}-{locale}-{label}.png", full_page=True)
        page.goto(server + "/customers?sort=visits")
        page.locator("table.customers td.name a").first.click()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=ARTIFACTS / f"customer-{locale}-{label}.png", full_page=True)
        assert page.locator("html").get_attribute("lang") == locale
        page.close()
