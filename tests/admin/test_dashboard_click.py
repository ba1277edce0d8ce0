"""Dashboard cards click through to the customers they count."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest


def names(page: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/customers/\d+">([^<]*)</a>', page)


def link(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"><a href="([^"]+)"', page)
    assert found, element_id
    return html.unescape(found.group(1))


@pytest.mark.both_dbs
def test_cards_open_the_list_they_count(owner_client, world, factory):
    now = datetime.now(UTC).replace(microsecond=0)
    day = timedelta(days=1)
    factory.customer(world.tenant_id, "Mới", visits=[(world.q1, now - 3 * day, "zalo")])
    factory.customer(
        world.tenant_id,
        "Quay lại",
        visits=[(world.q1, now - 60 * day, "form"), (world.q3, now - 2 * day, "form")],
    )
    factory.customer(world.tenant_id, "Cũ", visits=[(world.q1, now - 60 * day, "form")])
    board = owner_client.get("/?days=30").get_data(as_text=True)
    assert re.search(r'id="stat-new"><a [^>]*>1<', board)
    assert re.search(r'id="stat-returning"><a [^>]*>1<', board)
    new = owner_client.get(link(board, "stat-new")).get_data(as_text=True)
    assert names(new) == ["Mới"] and 'id="period-filter"' in new
    returning = owner_client.get(link(board, "stat-returning")).get_data(as_text=True)
    assert names(returning) == ["Quay lại"]
    everyone = owner_client.get(link(board, "stat-total")).get_data(as_text=True)
    assert sorted(names(everyone)) == ["Cũ", "Mới", "Quay lại"]
    zalo = re.search(r'<a href="([^"]*channel=zalo[^"]*)">Zalo</a>', board)
    assert zalo is not None
    by_channel = owner_client.get(html.unescape(zalo.group(1))).get_data(as_text=True)
    assert names(by_channel) == ["Mới"]
    # at one location, the cards count that location's customers and link there
    here = owner_client.get(f"/?days=30&location={world.q3}").get_data(as_text=True)
    at_q3 = owner_client.get(link(here, "stat-returning")).get_data(as_text=True)
    assert names(at_q3) == []  # Quay lại first came to Q3 in the period: new there
    assert names(owner_client.get(link(here, "stat-new")).get_data(as_text=True)) == ["Quay lại"]
    bad = owner_client.get("/customers?new_from=yesterday")
    assert bad.status_code == 200 and "Ignored the date" in bad.get_data(as_text=True)
