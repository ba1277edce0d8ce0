"""The /api/v1 sync API over real HTTP on loopback (werkzeug in a thread)."""

from __future__ import annotations

import json

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from synckit import Venue, count, login_event, make_venue

from porchlight.admin.db import utcnow
from porchlight.admin.schema import portal_settings, router_commands, routers
from porchlight.admin.sync.enrollment import create_router, revoke, rotate


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _post(base: str, path: str, token: str, body: object, **kw: object) -> requests.Response:
    return requests.post(f"{base}/api/v1{path}", json=body, headers=_auth(token), timeout=10, **kw)


def test_enroll_trades_a_one_time_code_for_a_token(live_admin, engine: Engine) -> None:
    v = make_venue(engine)
    with engine.begin() as conn:
        router_id, code = create_router(conn, v.location_id, "back office")
    url = f"{live_admin.url}/api/v1/enroll"
    answer = requests.post(url, json={"code": code.lower(), "hostname": "r1"}, timeout=10)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["router_id"] == router_id
    assert body["location"]["id"] == v.location_id
    assert body["token"].startswith("plr_")
    again = requests.post(url, json={"code": code}, timeout=10)
    assert again.status_code == 403
    with engine.connect() as conn:
        row = conn.execute(sa.select(routers).where(routers.c.id == router_id)).one()
    assert row.token_hash and body["token"] not in row.token_hash  # hashed at rest
    assert row.enroll_code_hash is None and row.hostname == "r1"
    # the token works
    assert _post(live_admin.url, "/events", body["token"], {"events": []}).status_code == 200


def test_expired_or_unknown_codes_are_refused(live_admin, engine: Engine) -> None:
    v = make_venue(engine)
    with engine.begin() as conn:
        router_id, code = create_router(conn, v.location_id, "late")
        conn.execute(
            routers.update().where(routers.c.id == router_id).values(enroll_expires_at=utcnow())
        )
    url = f"{live_admin.url}/api/v1/enroll"
    assert requests.post(url, json={"code": code}, timeout=10).status_code == 403
    assert requests.post(url, json={"code": "AAAA-BBBB-CCCC"}, timeout=10).status_code == 403
    assert requests.post(url, json={"nope": 1}, timeout=10).status_code == 422


def test_events_are_acked_and_duplicates_counted(live_admin, engine: Engine, venue: Venue) -> None:
    batch = [login_event("0912345678"), login_event("0912345679")]
    first = _post(live_admin.url, "/events", venue.token, {"events": batch})
    assert first.status_code == 200, first.text
    assert sorted(first.json()["acked"]) == sorted(e["id"] for e in batch)
    replay = _post(live_admin.url, "/events", venue.token, {"events": batch[::-1]})
    assert replay.json()["duplicates"] == 2
    assert count(engine, "visits", "router_id = :r", r=venue.router_id) == 2


def test_one_bad_event_rejects_the_whole_batch(live_admin, engine: Engine, venue: Venue) -> None:
    bad = login_event("0912345678")
    bad["mac"] = "not-a-mac"
    batch = [login_event("0912345670"), bad]
    answer = _post(live_admin.url, "/events", venue.token, {"events": batch})
    assert answer.status_code == 422
    assert answer.json()["index"] == 1
    assert count(engine, "sync_events") == 0 and count(engine, "customers") == 0


def test_truncated_and_oversized_batches(live_admin, engine: Engine, venue: Venue) -> None:
    url = f"{live_admin.url}/api/v1/events"
    headers = {**_auth(venue.token), "Content-Type": "application/json"}
    text = json.dumps({"events": [login_event("0912345678")]})
    truncated = requests.post(url, data=text[: len(text) // 2], headers=headers, timeout=10)
    assert truncated.status_code == 400
    huge = requests.post(url, data=b" " * (1024 * 1024 + 10), headers=headers, timeout=10)
    assert huge.status_code == 413
    many = [login_event("0912345678") for _ in range(501)]
    assert _post(live_admin.url, "/events", venue.token, {"events": many}).status_code == 413
    assert count(engine, "sync_events") == 0


def test_forged_revoked_and_rotated_tokens_store_nothing(
    live_admin, engine: Engine, venue: Venue
) -> None:
    event = login_event("0912345678")
    for token in ("", "plr_forged", venue.token + "x"):
        answer = _post(live_admin.url, "/events", token, {"events": [event]})
        assert answer.status_code == 401
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    with engine.begin() as conn:
        revoke(conn, venue.router_id)
    assert _post(live_admin.url, "/events", venue.token, {"events": [event]}).status_code == 401
    with engine.begin() as conn:
        rotate(conn, venue.router_id)
    assert _post(live_admin.url, "/events", venue.token, {"events": [event]}).status_code == 401
    config = requests.get(f"{live_admin.url}/api/v1/config", headers=_auth(venue.token), timeout=10)
    assert config.status_code == 401
    assert count(engine, "sync_events") == 0 and count(engine, "customers") == 0


def test_another_tenants_token_cannot_touch_this_tenant(
    live_admin, engine: Engine, venue: Venue
) -> None:
    other = make_venue(engine)
    event = login_event("0912345678")
    assert _post(live_admin.url, "/events", venue.token, {"events": [event]}).status_code == 200
    # The other tenant replays this tenant's event id (with a new one): refused.
    replay = _post(live_admin.url, "/events", other.token, {"events": [login_event(), event]})
    assert replay.status_code == 409 and replay.json()["index"] == 1
    assert count(engine, "customers", "tenant_id = :t", t=other.tenant_id) == 0
    assert count(engine, "sync_events", "router_id = :r", r=other.router_id) == 0
    # ... and cannot ack this tenant's router commands.
    with engine.begin() as conn:
        command_id = conn.execute(
            router_commands.insert()
            .values(
                router_id=venue.router_id,
                action="deauthorize",
                payload={"mac": "aa:bb:cc:dd:ee:01"},
                created_at=utcnow(),
            )
            .returning(router_commands.c.id)
        ).scalar_one()
    assert _post(live_admin.url, f"/commands/{command_id}/ack", other.token, {}).status_code == 404
    assert count(engine, "router_commands", "acked_at IS NULL") == 1
    config = requests.get(f"{live_admin.url}/api/v1/config", headers=_auth(other.token), timeout=10)
    assert config.json()["location"]["id"] == other.location_id


def test_config_etag_and_304(live_admin, engine: Engine, venue: Venue) -> None:
    url = f"{live_admin.url}/api/v1/config"
    first = requests.get(url, headers=_auth(venue.token), timeout=10)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.json()["location"]["id"] == venue.location_id
    assert first.json()["session"]["length_seconds"] == 3600
    same = requests.get(url, headers={**_auth(venue.token), "If-None-Match": etag}, timeout=10)
    assert same.status_code == 304 and same.headers["ETag"] == etag
    with engine.begin() as conn:
        conn.execute(
            portal_settings.insert().values(
                location_id=venue.location_id,
                version=1,
                settings={"session": {"length_seconds": 7200}, "tags": ["vip"]},
                created_at=utcnow(),
            )
        )
    changed = requests.get(url, headers={**_auth(venue.token), "If-None-Match": etag}, timeout=10)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json()["session"]["length_seconds"] == 7200
    assert changed.json()["tags"] == ["vip"]


def test_heartbeat_updates_router_and_returns_commands(
    live_admin, engine: Engine, venue: Venue
) -> None:
    with engine.begin() as conn:
        command_id = conn.execute(
            router_commands.insert()
            .values(
                router_id=venue.router_id,
                action="deauthorize",
                payload={"mac": "aa:bb:cc:dd:ee:01"},
                created_at=utcnow(),
            )
            .returning(router_commands.c.id)
        ).scalar_one()
    beat = {
        "agent_version": "0.1.0",
        "uptime_seconds": 99,
        "clients_online": 3,
        "outbox_depth": 7,
        "config_etag": "abc",
    }
    answer = _post(live_admin.url, "/heartbeat", venue.token, beat)
    assert answer.status_code == 200
    assert answer.json()["commands"] == [
        {"id": command_id, "action": "deauthorize", "mac": "aa:bb:cc:dd:ee:01"}
    ]
    with engine.connect() as conn:
        row = conn.execute(sa.select(routers).where(routers.c.id == venue.router_id)).one()
    assert (row.uptime_seconds, row.clients_online, row.outbox_depth) == (99, 3, 7)
    assert row.last_seen_at is not None and row.config_etag == "abc"
    ack = _post(live_admin.url, f"/commands/{command_id}/ack", venue.token, {})
    assert ack.status_code == 200
    assert _post(live_admin.url, "/heartbeat", venue.token, beat).json()["commands"] == []
    bad = _post(live_admin.url, "/heartbeat", venue.token, {"uptime_seconds": -1})
    assert bad.status_code == 422


def test_rate_limit_answers_429_with_retry_after(live_admin, venue: Venue) -> None:
    live_admin.app.config["API_POLLS_PER_MINUTE"] = 3
    url = f"{live_admin.url}/api/v1/config"
    codes = [requests.get(url, headers=_auth(venue.token), timeout=10) for _ in range(4)]
    assert [c.status_code for c in codes] == [200, 200, 200, 429]
    assert 1 <= int(codes[-1].headers["Retry-After"]) <= 60


@pytest.mark.pg
def test_postgres_admin_takes_a_batch_over_http(pg_url: str, pg_engine: Engine) -> None:
    from porchlight.admin.app import create_app

    venue = make_venue(pg_engine)
    app = create_app({"SECRET_KEY": "sync-tests-secret-key-0123456789", "DATABASE_URL": pg_url})
    try:
        client = app.test_client()
        headers = _auth(venue.token)
        # PostgreSQL text refuses NUL: the event is refused by index (the agent parks it), not a 500
        bad = login_event("0912345678", name="Nul\x00name")
        refused = client.post("/api/v1/events", json={"events": [bad]}, headers=headers)
        assert refused.status_code == 422, refused.get_data(as_text=True)
        assert refused.get_json()["index"] == 0
        assert count(pg_engine, "visits", "router_id = :r", r=venue.router_id) == 0
        event = login_event("0912345678", name="Tab\tname")
        answer = client.post("/api/v1/events", json={"events": [event]}, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        again = client.post("/api/v1/events", json={"events": [event]}, headers=headers)
        assert again.get_json()["duplicates"] == 1
        beat = client.post(
            "/api/v1/heartbeat",
            json={"agent_version": "1\x00", "clients_online": 2**31},
            headers=headers,
        )
        assert beat.status_code == 422  # does not fit the column: refused, not a 500
        assert count(pg_engine, "visits", "router_id = :r", r=venue.router_id) == 1
        assert count(pg_engine, "customers", "tenant_id = :t", t=venue.tenant_id) == 1
    finally:
        app.extensions["porchlight.engine"].dispose()


@pytest.mark.slow
def test_rate_limits_are_shared_by_gunicorn_workers(db_url: str, venue: Venue, tmp_path) -> None:
    """2 workers, 5 polls a minute: 5 answered in all, not 5 per worker.

    A half-sent request keeps one sync worker reading while the other answers
    eight polls; the held worker then answers the ninth, so both have counted.
    """
    import socket
    import time

    from synckit import Gunicorn, free_port

    access = tmp_path / "access.log"
    admin = Gunicorn(
        db_url,
        free_port(),
        tmp_path / "gunicorn.log",
        workers=2,
        app="porchlight.admin.app:create_app({'API_POLLS_PER_MINUTE': 5})",
        extra_args=("--access-logfile", str(access), "--access-logformat", "%(p)s %(s)s %(U)s"),
    )
    admin.start()
    try:
        deadline = time.monotonic() + 20
        while (tmp_path / "gunicorn.log").read_text().count("Booting worker") < 2:
            assert time.monotonic() < deadline, "the second worker did not boot"
            time.sleep(0.05)
        url = f"{admin.url}/api/v1/config"
        with socket.create_connection(("127.0.0.1", admin.port), timeout=10) as held:
            held.sendall(b"GET /api/v1/config HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            time.sleep(0.5)  # one worker accepts it and waits for the rest
            codes = [
                requests.get(url, headers=_auth(venue.token), timeout=10).status_code
                for _ in range(8)
            ]
            held.sendall(f"Authorization: Bearer {venue.token}\r\n\r\n".encode())
            last = held.recv(64).split(b" ")[1]
    finally:
        admin.stop()
    pids = {line.split()[0] for line in access.read_text().splitlines()}
    assert len(pids) == 2, "both workers must have answered for this test to mean anything"
    assert codes == [200] * 5 + [429] * 3
    assert last == b"429"  # the other worker's first poll: the shared window is full
