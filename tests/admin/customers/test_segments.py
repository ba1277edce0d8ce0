"""Saved segments: a named set of list filters one click away above the customer list."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from porchlight.admin import schema


def names(page: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/customers/\d+">([^<]*)</a>', page)


def test_save_open_and_delete_a_segment(engine, world, factory, client_as, csrf):
    factory.customer(world.tenant_id, "Vip Lan", tags=["vip"])
    factory.customer(world.tenant_id, "Bình")
    manager = client_as("manager")
    token = csrf(manager, "/customers")
    assert 'id="save-segment"' not in manager.get("/customers").get_data(as_text=True)
    listing = client_as("owner")
    filtered = listing.get("/customers?tag=vip&sort=name").get_data(as_text=True)
    assert 'id="save-segment"' in filtered
    owner_token = csrf(listing, "/customers?tag=vip")
    saved = listing.post(
        "/segments",
        data={"csrf_token": owner_token, "name": "  VIP  khách ", "filters": "tag=vip&bogus=1"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Segment “VIP khách” saved." in html.unescape(saved)
    chip = re.search(r'<span class="chip segment"><a href="([^"]+)">VIP khách</a>', saved)
    assert chip is not None
    opened = listing.get(html.unescape(chip.group(1))).get_data(as_text=True)
    assert names(opened) == ["Vip Lan"]  # one click: the list with its count and export
    again = listing.post(
        "/segments", data={"csrf_token": owner_token, "name": "VIP khách", "filters": "tag=vip"}
    )
    assert again.status_code == 302
    with engine.connect() as conn:
        rows = conn.execute(sa.select(schema.customer_segments)).all()
    assert [(r.name, r.filters) for r in rows] == [("VIP khách", "tag=vip")]  # unknown dropped
    blank = listing.post("/segments", data={"csrf_token": owner_token, "name": " ", "filters": ""})
    assert blank.status_code == 302
    viewer = client_as("viewer")
    assert "VIP khách" in viewer.get("/customers").get_data(as_text=True)  # everyone sees it
    refused = viewer.post("/segments", data={"name": "x", "filters": "tag=vip"})
    assert refused.status_code in (400, 403)
    gone = manager.post(f"/segments/{rows[0].id}/delete", data={"csrf_token": token})
    assert gone.status_code == 302
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(schema.customer_segments)).scalar()
            == 0
        )
