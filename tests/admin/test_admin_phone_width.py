"""Every admin page at 390 px (a phone): no sideways scrolling, in vi, th and en.

Screenshots at 390 and 1366 px land in test-artifacts/admin/width/ (looked at
by people); the assertion is ``document.documentElement.scrollWidth <=
innerWidth`` on every page the owner can open, found from the app's routes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "admin" / "width"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
# The deepest element sticking out of the window, to name in the failure.
WIDEST = """() => { let found = '';
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1) found = el.tagName + '.' + el.className + ' ' +
      Math.round(r.right) + 'px: ' + (el.textContent || '').trim().slice(0, 40);
  } return found; }"""
NOT_PAGES = ("/login", "/customers/count", "/metrics", "/imports/template.xlsx")


def pages(app, customer_id: int, location_id: int) -> list[str]:
    found = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.arguments
        and not rule.rule.startswith(("/static", "/api"))
        and not rule.rule.endswith((".css", ".js", ".json", ".xlsx"))
        and rule.rule not in NOT_PAGES
    ]
    return sorted(found) + [
        f"/customers/{customer_id}",
        f"/locations/{location_id}",
        f"/locations/{location_id}/chat",
    ]


@pytest.fixture
def server(app, world, factory, serve_wsgi):
    for i in range(12):
        factory.customer(
            world.tenant_id,
            f"Nguyễn Thị Khách Hàng Có Tên Rất Dài {i:02d}",
            f"+849{i:08d}",
            f"khach.hang.co.email.rat.dai.{i}@example.vn",
            visits=[(world.q1, T0 + timedelta(days=j), "zalo") for j in range(i % 4 + 1)],
            tags=["wifi", "khách quen", "sinh nhật"],
            spend_total=12_500_000 + i,
        )
    return serve_wsgi(app)


def sign_in(page, base, user, password, locale):
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', user["email"])
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"].primary')
    page.wait_for_url(f"{base}/")
    if locale != "en":
        page.click(f'button.lang[value="{locale}"]')
        page.wait_for_load_state()


@pytest.mark.parametrize("locale", ["vi", "th", "en"])
def test_every_page_fits_a_phone(server, browser, app, world, password, factory, locale):
    customer = factory.customer(world.tenant_id, "Lan", "+84912000999")
    urls = pages(app, customer, world.q1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    too_wide = []
    for width in (390, 1366):
        page = browser.new_page(viewport={"width": width, "height": 844})
        sign_in(page, server, world.users["owner"], password, locale)
        for url in urls:
            response = page.goto(server + url)
            assert response is not None and response.status < 400, (url, response)
            page.wait_for_load_state("networkidle")
            name = url.strip("/").replace("/", "-") or "dashboard"
            page.screenshot(path=str(ARTIFACTS / f"{name}-{locale}-{width}.png"), full_page=True)
            if url == "/customers":  # the filters fold behind one button on a phone only
                folded = page.evaluate("!document.getElementById('filters-fold').open")
                assert folded == (width == 390)
            if width == 390:
                scroll, inner = page.evaluate(
                    "[document.documentElement.scrollWidth, window.innerWidth]"
                )
                if scroll > inner:
                    culprit = page.evaluate(WIDEST)
                    too_wide.append(f"{url}: {scroll} px wide in a {inner} px window ({culprit})")
        page.close()
    assert too_wide == []
