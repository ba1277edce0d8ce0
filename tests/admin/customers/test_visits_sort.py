"""Visits sort both ways (keyset pages included), on the whole list and in one location."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def names(page: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/customers/\d+">([^<]*)</a>', page)


@pytest.mark.both_dbs
def test_visits_sort_both_ways(owner_client, world, factory):
    day = timedelta(days=1)
    for name, count in (("Ba", 3), ("Một", 1), ("Năm", 5), ("Hai", 2)):
        factory.customer(
            world.tenant_id, name, visits=[(world.q1, T0 + i * day, "form") for i in range(count)]
        )
    most = owner_client.get("/customers?sort=visits").get_data(as_text=True)
    assert names(most) == ["Năm", "Ba", "Hai", "Một"]
    assert "?sort=visits_asc" in most  # the header's link turns the order around
    fewest = owner_client.get("/customers?sort=visits_asc").get_data(as_text=True)
    assert names(fewest) == ["Một", "Hai", "Ba", "Năm"]
    assert 'aria-sort="ascending"' in fewest
    here = owner_client.get(f"/customers?sort=visits_asc&location={world.q1}")
    page = here.get_data(as_text=True)
    assert names(page) == ["Một", "Hai", "Ba", "Năm"]
    assert "Visits here" in page  # the column counts this location's visits


def test_visits_ascending_pages_with_a_cursor(owner_client, world, factory):
    for i in range(60):
        factory.customer(world.tenant_id, f"K{i:02d}", visits=[(world.q1, T0, "form")] * (i % 7))
    first = owner_client.get("/customers?sort=visits_asc").get_data(as_text=True)
    link = re.search(r'href="\?([^"]*after=[^"]*)"', first)
    assert link is not None
    second = owner_client.get("/customers?" + link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    seen = names(first) + names(second.get_data(as_text=True))
    assert len(seen) == len(set(seen)) == 60
