"""What the admin pages change reaches a router through the sync API, as an agent sees it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.locations import guest_page_settings as ps


def enrolled_router(client: Any, tok: Any, location_id: int) -> tuple[int, dict[str, str]]:
    """Add a router in the admin, enroll it over the API; (router id, auth headers)."""
    path = f"/locations/{location_id}/routers"
    html = client.post(path, data={"name": "Bar", "csrf_token": tok(client, path)}).get_data(
        as_text=True
    )
    code = re.search(r'data-testid="enroll-code">([A-Z0-9-]+)<', html).group(1)
    answer = client.post("/api/v1/enroll", json={"code": code, "hostname": "lab-router"})
    assert answer.status_code == 201
    body = answer.get_json()
    return body["router_id"], {"Authorization": f"Bearer {body['token']}"}


def test_saved_settings_and_vouchers_reach_the_router_on_its_next_config_poll(
    owner_client: Any, app: Any, tok: Any, engine: Any, world: Any
) -> None:
    _rid, auth = enrolled_router(owner_client, tok, world.q1)
    router = app.test_client()
    first = router.get("/api/v1/config", headers=auth)
    etag = first.headers["ETag"]
    assert router.get("/api/v1/config", headers=auth | {"If-None-Match": etag}).status_code == 304

    page = f"/locations/{world.q1}/guest-page"
    with engine.connect() as conn:
        form = ps.form_values(ps.current_settings(conn, world.q1))
    form.update(
        welcome_vi="Chào bạn ở quầy bar!",
        walled_garden="zalo.me",
        csrf_token=tok(owner_client, page),
    )
    assert owner_client.post(page, data=form).status_code == 302

    changed = router.get("/api/v1/config", headers=auth | {"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    config = changed.get_json()
    assert config["portal"]["welcome"]["vi"] == "Chào bạn ở quầy bar!"
    assert config["walled_garden"]["domains"] == ["zalo.me"]

    vouchers = f"/locations/{world.q1}/vouchers"
    owner_client.post(
        vouchers,
        data={
            "count": "3",
            "duration": "30",
            "unit": "minutes",
            "max_uses": "1",
            "max_devices": "1",
            "csrf_token": tok(owner_client, vouchers),
        },
    )
    config = router.get("/api/v1/config", headers=auth).get_json()
    assert len(config["vouchers"]) == 3 and config["vouchers"][0]["duration_seconds"] == 1800

    # the router reports the ETag it applied: the routers page says "Up to date"
    router.post(
        "/api/v1/heartbeat",
        headers=auth,
        json={
            "agent_version": "0.1.0",
            "uptime_seconds": 5,
            "clients_online": 1,
            "outbox_depth": 0,
            "config_etag": router.get("/api/v1/config", headers=auth).headers["ETag"].strip('"'),
        },
    )
    listing = owner_client.get(f"/locations/{world.q1}/routers").get_data(as_text=True)
    assert "Up to date" in listing and "Online" in listing


def test_disconnect_is_delivered_on_the_heartbeat_and_acknowledged(
    owner_client: Any, app: Any, tok: Any, engine: Any, world: Any, factory: Any
) -> None:
    rid, auth = enrolled_router(owner_client, tok, world.q1)
    router = app.test_client()
    router.post("/api/v1/heartbeat", headers=auth, json={"agent_version": "0.1.0"})
    guest = factory.customer(world.tenant_id, "Phạm Minh", phone="+84988888888")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            schema.visits.insert().values(
                tenant_id=world.tenant_id,
                customer_id=guest,
                location_id=world.q1,
                router_id=rid,
                mac="a2:aa:bb:cc:dd:ee",
                channel="form",
                started_at=now,
                received_at=now,
            )
        )
    online = f"/locations/{world.q1}/online"
    owner_client.post(
        online + "/disconnect",
        data={
            "mac": "a2:aa:bb:cc:dd:ee",
            "router_id": rid,
            "csrf_token": tok(owner_client, online),
        },
    )
    commands = router.post("/api/v1/heartbeat", headers=auth, json={}).get_json()["commands"]
    assert [(c["action"], c["mac"]) for c in commands] == [("deauthorize", "a2:aa:bb:cc:dd:ee")]
    assert router.post(f"/api/v1/commands/{commands[0]['id']}/ack", headers=auth).status_code == 200
    assert router.post("/api/v1/heartbeat", headers=auth, json={}).get_json()["commands"] == []
    assert "Disconnected by the router" in owner_client.get(online).get_data(as_text=True)
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.router_commands.c.acked_at)).scalar() is not None
