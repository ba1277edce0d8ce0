"""Locations: create, edit, archive, with role scoping and per-field errors."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import schema


def location(engine: Any, location_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(schema.locations).where(schema.locations.c.id == location_id)
        ).first()


def count(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.locations)).scalar())


GOOD = {
    "name": "Café Đà Nẵng",
    "address": "5 Bạch Đằng",
    "province": "Đà Nẵng",
    "postal_code": "550000",
    "country": "VN",
    "timezone": "Asia/Ho_Chi_Minh",
    "open_mon": "07:00",
    "close_mon": "22:30",
    "closed_sun": "on",
    "open_fri": "18:00",
    "close_fri": "02:00",
}


@pytest.mark.both_dbs
def test_owner_creates_a_location_with_opening_hours(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    response = owner_client.post(
        "/locations/new", data=GOOD | {"csrf_token": tok(owner_client, "/locations/new")}
    )
    assert response.status_code == 302
    new_id = int(response.location.rstrip("/").split("/")[-1])
    row = location(engine, new_id)
    assert row.name == "Café Đà Nẵng" and row.postal_code == "550000"
    assert row.opening_hours == {
        "mon": [["07:00", "22:30"]],
        "fri": [["18:00", "02:00"]],
        "sun": [],
    }
    html = owner_client.get(response.location).get_data(as_text=True)
    assert "Café Đà Nẵng" in html and "07:00–22:30" in html and "Closed" in html
    assert "Café Đà Nẵng" in owner_client.get("/locations/").get_data(as_text=True)


def test_bad_fields_get_their_own_message_and_nothing_is_saved(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    before = count(engine)
    bad = GOOD | {
        "name": "Q1",  # taken
        "timezone": "Mars/Olympus",
        "postal_code": "<script>",
        "open_tue": "25:00",
        "close_tue": "10:00",
        "csrf_token": tok(owner_client, "/locations/new"),
    }
    response = owner_client.post("/locations/new", data=bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="err-name"' in html and "already has this name" in html
    assert 'id="err-timezone"' in html and 'id="err-postal_code"' in html
    assert 'id="err-hours_tue"' in html
    assert "<script>" not in html  # escaped back into the form
    assert count(engine) == before


def test_manager_sees_and_edits_only_their_location(
    manager_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    html = manager_client.get("/locations/").get_data(as_text=True)
    assert ">Q1<" in html and ">Q3<" not in html
    for path in ("", "/edit", "/routers", "/online", "/vouchers", "/guest-page"):
        assert manager_client.get(f"/locations/{world.q3}{path}").status_code == 404, path
    data = GOOD | {"name": "Q1 renamed", "csrf_token": tok(manager_client, "/locations/")}
    assert manager_client.post(f"/locations/{world.q3}/edit", data=data).status_code == 404
    assert location(engine, world.q3).name == "Q3"
    assert manager_client.post(f"/locations/{world.q1}/edit", data=data).status_code == 302
    assert location(engine, world.q1).name == "Q1 renamed"
    assert manager_client.get("/locations/new").status_code == 403
    archive = {"csrf_token": tok(manager_client, "/locations/")}
    assert manager_client.post(f"/locations/{world.q1}/archive", data=archive).status_code == 403


def test_viewer_reads_but_cannot_change(
    viewer_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    html = viewer_client.get(f"/locations/{world.q3}").get_data(as_text=True)
    assert "Q3" in html and ">Edit<" not in html
    data = GOOD | {"csrf_token": tok(viewer_client, "/locations/")}
    assert viewer_client.post(f"/locations/{world.q3}/edit", data=data).status_code == 403
    assert location(engine, world.q3).name == "Q3"


def test_archive_and_restore_are_audited(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    token = tok(owner_client, "/locations/")
    owner_client.post(f"/locations/{world.q3}/archive", data={"csrf_token": token})
    assert location(engine, world.q3).archived_at is not None
    assert ">Q3<" not in owner_client.get("/locations/").get_data(as_text=True)
    assert ">Q3<" in owner_client.get("/locations/?archived=1").get_data(as_text=True)
    owner_client.post(f"/locations/{world.q3}/archive", data={"csrf_token": token, "restore": "1"})
    assert location(engine, world.q3).archived_at is None
    with engine.connect() as conn:
        actions = (
            conn.execute(sa.select(schema.audit_log.c.action).order_by(schema.audit_log.c.id))
            .scalars()
            .all()
        )
    assert actions[-2:] == ["location_archive", "location_restore"]


def test_forms_without_csrf_are_refused(owner_client: Any, engine: Any, world: Any) -> None:
    assert owner_client.post("/locations/new", data=GOOD).status_code == 400
    assert count(engine) == 2
