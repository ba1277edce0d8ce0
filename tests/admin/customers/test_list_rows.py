"""What one row of the customer list shows, cell by cell (admin/customers/table_rows.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from porchlight.admin import schema


def cells(html: str, name: str) -> list[str]:
    """The row of customer `name`, each cell's text (tags as "a|b"), markup dropped."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if f">{name}</a>" in row:
            out = []
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S):
                cell = re.sub(r"<svg.*?</svg>", "", cell, flags=re.S)
                cell = re.sub(r"</span><span[^>]*>", "|", cell)
                cell = re.sub(r"<div[^>]*>", " @ ", cell)
                out.append(re.sub(r"<[^>]+>", "", cell).strip())
            return out
    raise AssertionError(f"no row for {name}")


@pytest.fixture
def guest(world, factory, engine):
    with engine.connect() as conn:
        vip = conn.execute(
            sa.select(schema.groups.c.id).where(
                schema.groups.c.tenant_id == world.tenant_id, schema.groups.c.name == "VIP"
            )
        ).scalar_one()
    factory.customer(
        world.tenant_id,
        "An Nguyễn",
        "+84912345678",
        "an@x.vn",
        # 23:30 UTC is 06:30 the next day in Ho Chi Minh City (Q3's time zone)
        visits=[
            (world.q1, datetime(2026, 11, 1, 3, 0, tzinfo=UTC), "form"),
            (world.q3, datetime(2026, 11, 2, 23, 30, tzinfo=UTC), "zalo"),
        ],
        tags=["a1", "b2", "c3", "d4", "e5", "f6"],
        spend_total=2500000,
        group_id=vip,
    )
    factory.customer(world.tenant_id, "Bình Never", "+66812345678")
    return world


@pytest.mark.both_dbs
def test_a_row_shows_each_cell_in_words(owner_client, guest):
    html = owner_client.get("/customers").get_data(as_text=True)
    _pick, name, phone, email, tags, group, visits, last, channel, spend = cells(html, "An Nguyễn")
    assert (name, phone, email) == ("An Nguyễn", "0912 345 678", "an@x.vn")
    assert tags == "a1|b2|c3|d4|+2"  # four chips, then how many more
    assert group == "VIP"
    assert visits == "2"
    assert last == "03 Nov 2026, 06:30 @ Q3"  # the place's time, and the place
    assert channel == "Zalo"
    assert spend == "2,500,000 ₫"
    never = cells(html, "Bình Never")
    assert never[2] == "081 234 5678"  # a Thai number in its own national form
    assert never[4:10] == ["", "", "0", "—", "", "0 ₫"]


@pytest.mark.both_dbs
def test_a_locations_list_counts_visits_there_and_names_no_place(owner_client, guest):
    html = owner_client.get(f"/customers?location={guest.q1}").get_data(as_text=True)
    row = cells(html, "An Nguyễn")
    assert row[6] == "1"  # one of the two visits was at Q1
    assert row[7] == "01 Nov 2026, 10:00"  # the last one there; no "@ Q1" beside it


@pytest.mark.both_dbs
def test_vietnamese_numbers_and_dates(client_as, guest, engine):
    with engine.begin() as conn:
        conn.execute(schema.users.update().values(locale="vi"))
    html = client_as("owner").get("/customers").get_data(as_text=True)
    row = cells(html, "An Nguyễn")
    assert row[7] == "06:30 03/11/2026 @ Q3"
    assert row[9] == "2.500.000 ₫"
