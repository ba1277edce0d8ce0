"""Routers per location: add with a one-time code, status, revoke, rotate; online now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.sync.enrollment import authenticate, enroll


def add_router(client: Any, tok: Any, location_id: int, name: str = "Ground floor") -> str:
    path = f"/locations/{location_id}/routers"
    response = client.post(path, data={"name": name, "csrf_token": tok(client, path)})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def code_in(html: str) -> str:
    match = re.search(r'data-testid="enroll-code">([A-Z0-9-]+)<', html)
    assert match
    return match.group(1)


def test_add_router_shows_a_one_time_code_and_the_exact_command(
    owner_client: Any, tok: Any, engine: Any, world: Any, app: Any
) -> None:
    html = add_router(owner_client, tok, world.q1)
    code = code_in(html)
    assert f"sudo porchlight agent enroll {app.config['PUBLIC_URL']} {code} --state-dir" in html
    with engine.begin() as conn:
        identity, token = enroll(conn, code, hostname="gl-mt3000", agent_version="0.1.0")
    assert identity.location_id == world.q1
    with engine.begin() as conn:
        conn.execute(
            schema.routers.update().values(
                last_seen_at=datetime.now(UTC), clients_online=7, outbox_depth=2
            )
        )
    listing = owner_client.get(f"/locations/{world.q1}/routers").get_data(as_text=True)
    assert "Ground floor" in listing and "Online" in listing and "gl-mt3000" in listing
    assert ">7<" in listing


def test_revoke_stops_the_token_and_rotate_gives_a_new_code(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    html = add_router(owner_client, tok, world.q1)
    with engine.begin() as conn:
        identity, token = enroll(conn, code_in(html))
    base = f"/locations/{world.q1}/routers/{identity.router_id}"
    token_csrf = tok(owner_client, f"/locations/{world.q1}/routers")
    rotated = owner_client.post(base + "/rotate", data={"csrf_token": token_csrf})
    new_code = code_in(rotated.get_data(as_text=True))
    with engine.connect() as conn:
        assert authenticate(conn, token) is None  # the old token stopped at once
    with engine.begin() as conn:
        _identity, token2 = enroll(conn, new_code)
    owner_client.post(base + "/revoke", data={"csrf_token": token_csrf})
    with engine.connect() as conn:
        assert authenticate(conn, token2) is None
        actions = conn.execute(sa.select(schema.audit_log.c.action)).scalars().all()
    assert {"router_add", "router_rotate", "router_revoke"} <= set(actions)
    assert "Revoked" in owner_client.get(f"/locations/{world.q1}/routers").get_data(as_text=True)


def test_router_name_is_checked_and_viewer_cannot_add(
    owner_client: Any, viewer_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    path = f"/locations/{world.q1}/routers"
    response = owner_client.post(path, data={"name": " ", "csrf_token": tok(owner_client, path)})
    assert response.status_code == 422 and 'id="err-name"' in response.get_data(as_text=True)
    response = viewer_client.post(path, data={"name": "X", "csrf_token": tok(viewer_client, path)})
    assert response.status_code == 403
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.routers)).scalar() == 0


@pytest.mark.both_dbs
def test_online_now_lists_open_sessions_and_disconnect_queues_a_command(
    owner_client: Any, tok: Any, engine: Any, world: Any, factory: Any
) -> None:
    html = add_router(owner_client, tok, world.q1)
    with engine.begin() as conn:
        identity, _token = enroll(conn, code_in(html))
        conn.execute(schema.routers.update().values(last_seen_at=datetime.now(UTC)))
    now = datetime.now(UTC)
    here = factory.customer(world.tenant_id, "Trần Thị Bình", phone="+84901234567")
    gone = factory.customer(world.tenant_id, "Old Session", phone="+84901234568")
    ended = factory.customer(world.tenant_id, "Already Left", phone="+84901234569")
    with engine.begin() as conn:
        for cid, mac, started, ended_at in (
            (here, "a2:00:00:00:00:01", now - timedelta(minutes=5), None),
            (gone, "a2:00:00:00:00:02", now - timedelta(hours=5), None),  # past session length
            (ended, "a2:00:00:00:00:03", now - timedelta(minutes=20), now),
        ):
            conn.execute(
                schema.visits.insert().values(
                    tenant_id=world.tenant_id,
                    customer_id=cid,
                    location_id=world.q1,
                    router_id=identity.router_id,
                    mac=mac,
                    channel="form",
                    started_at=started,
                    received_at=started,
                    ended_at=ended_at,
                )
            )
    path = f"/locations/{world.q1}/online"
    page = owner_client.get(path).get_data(as_text=True)
    assert "Trần Thị Bình" in page
    assert "Old Session" not in page and "Already Left" not in page
    response = owner_client.post(
        path + "/disconnect",
        data={
            "mac": "A2-00-00-00-00-01",
            "router_id": identity.router_id,
            "csrf_token": tok(owner_client, path),
        },
    )
    assert response.status_code == 302
    with engine.connect() as conn:
        command = conn.execute(sa.select(schema.router_commands)).one()
    assert command.action == "deauthorize" and command.payload["mac"] == "a2:00:00:00:00:01"
    assert command.router_id == identity.router_id and command.acked_at is None
    assert "waiting for the router" in owner_client.get(path).get_data(as_text=True)
    with engine.begin() as conn:
        conn.execute(schema.router_commands.update().values(acked_at=datetime.now(UTC)))
    assert "Disconnected by the router" in owner_client.get(path).get_data(as_text=True)


def test_manager_cannot_disconnect_at_another_location(
    owner_client: Any, manager_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    html = add_router(owner_client, tok, world.q3)
    with engine.begin() as conn:
        identity, _token = enroll(conn, code_in(html))
    response = manager_client.post(
        f"/locations/{world.q3}/online/disconnect",
        data={
            "mac": "a2:00:00:00:00:01",
            "router_id": identity.router_id,
            "csrf_token": tok(manager_client, f"/locations/{world.q1}/online"),
        },
    )
    assert response.status_code == 404
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(schema.router_commands)).scalar()
            == 0
        )
