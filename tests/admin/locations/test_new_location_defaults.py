"""A new location offers the form and welcome-back only; the others are the venue's choice.

Locations that existed before migration 0012 keep the four ways in they had.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import migrate
from porchlight.admin.db import make_engine
from porchlight.admin.sync.location_config import build_location_config

NEW = {"name": "Café Phú Nhuận", "country": "VN", "timezone": "Asia/Ho_Chi_Minh"}


def channels(engine: Any, location_id: int) -> list[str]:
    with engine.connect() as conn:
        return list(build_location_config(conn, location_id)[0]["portal"]["channels"])


@pytest.mark.both_dbs
def test_a_new_location_starts_with_the_form_and_welcome_back(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    response = owner_client.post(
        "/locations/new", data=NEW | {"csrf_token": tok(owner_client, "/locations/new")}
    )
    assert response.status_code == 302
    new_id = int(response.location.rstrip("/").split("/")[-1])
    assert channels(engine, new_id) == ["form", "returning"]

    page = owner_client.get(response.location).get_data(as_text=True)
    assert "Ways in: Form, Returning device" in page
    assert 'data-testid="opt-in"' in page  # says where one click, vouchers, social are turned on
    settings = owner_client.get(f"/locations/{new_id}/guest-page").get_data(as_text=True)
    assert 'name="channel_form" checked' in settings
    assert 'name="channel_returning" checked' in settings
    assert 'name="channel_click" >' in settings and 'name="channel_voucher" >' in settings
    vouchers = owner_client.get(f"/locations/{new_id}/vouchers").get_data(as_text=True)
    assert 'data-testid="voucher-off"' in vouchers  # codes made now would not work yet


def test_turning_vouchers_on_is_one_save_and_the_warning_goes(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    from test_guest_page_web import save  # the settings form as saved from the page

    assert save(owner_client, tok, engine, world.q1, channel_voucher="on").status_code == 302
    assert channels(engine, world.q1) == ["form", "returning", "voucher"]
    vouchers = owner_client.get(f"/locations/{world.q1}/vouchers").get_data(as_text=True)
    assert 'data-testid="voucher-off"' not in vouchers
    page = owner_client.get(f"/locations/{world.q1}").get_data(as_text=True)
    assert 'data-testid="opt-in"' not in page


def _location_before_0012(engine: Any) -> int:
    migrate.upgrade(engine, "0011")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO tenants (slug, name, created_at) VALUES ('old', 'Old', :now)"),
            {"now": now},
        )
        tenant_id = conn.execute(sa.text("SELECT id FROM tenants WHERE slug = 'old'")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO locations (tenant_id, name, country, timezone, created_at, "
                "updated_at) VALUES (:t, 'Old Q1', 'VN', 'Asia/Ho_Chi_Minh', :now, :now)"
            ),
            {"t": tenant_id, "now": now},
        )
        return int(conn.execute(sa.text("SELECT id FROM locations")).scalar_one())


def _check_upgrade_keeps_old_and_defaults_new(engine: Any) -> None:
    old = _location_before_0012(engine)
    migrate.upgrade(engine)
    assert channels(engine, old) == ["form", "click", "voucher", "returning"]
    with engine.begin() as conn:
        tenant_id = conn.execute(sa.text("SELECT tenant_id FROM locations")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO locations (tenant_id, name, country, timezone, created_at, "
                "updated_at) VALUES (:t, 'New Q3', 'VN', 'Asia/Ho_Chi_Minh', :now, :now)"
            ),
            {"t": tenant_id, "now": datetime.now(UTC)},
        )
        new = conn.execute(sa.text("SELECT id FROM locations WHERE name = 'New Q3'")).scalar_one()
    assert channels(engine, new) == ["form", "returning"]
    migrate.downgrade(engine, "0011")  # and back: the columns go, the rows stay
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM locations")).scalar() == 2
    migrate.upgrade(engine)


def test_locations_made_before_the_migration_keep_their_four_ways_in(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _check_upgrade_keeps_old_and_defaults_new(engine)
    finally:
        engine.dispose()


@pytest.mark.pg
def test_the_migration_on_postgresql(empty_pg: str) -> None:
    engine = make_engine(empty_pg)
    try:
        _check_upgrade_keeps_old_and_defaults_new(engine)
    finally:
        engine.dispose()
