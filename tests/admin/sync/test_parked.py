"""Events the admin refuses (422 invalid, 409 another router's id) are parked and shown.

The real agent (its socket API on the fake kernel) answers `porchlight agent
status`; the real sync worker talks to the real admin on loopback; the admin's
Routers page is rendered for the venue's owner.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import requests
from sqlalchemy.engine import Engine
from synckit import Venue, count, login_event, make_venue, write_enrollment

from porchlight.admin import sessions
from porchlight.admin.db import utcnow
from porchlight.admin.schema import routers, users
from porchlight.agent.store import MIGRATIONS, db_path, open_db, outbox_depth
from porchlight.agent.sync import SyncWorker
from porchlight.cli import main
from porchlight.events import new_event_id, utc_now_iso

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "agent"))
from agentkit import started_agent  # noqa: E402  (the agent's own test runner)


def new_session_id(app: Any, user_id: int) -> str:
    """A server-side session (admin/sessions.py) for the cookie's ``_user_id``."""
    with app.extensions["porchlight.engine"].begin() as conn:
        return sessions.start(conn, user_id)


def _raw_outbox(db_file: Path, events: list[dict]) -> None:
    """Rows as an agent of another version could have queued them (no validation here)."""
    conn = sqlite3.connect(db_file)
    with conn:
        conn.executemany(
            "INSERT INTO outbox (event_id, body, created_at) VALUES (?, ?, ?)",
            [(e["id"], json.dumps(e), utc_now_iso()) for e in events],
        )
    conn.close()


def _owner_page(live_admin, engine: Engine, venue: Venue, locale: str = "en") -> str:
    with engine.begin() as conn:
        uid = conn.execute(
            users.insert().values(
                tenant_id=venue.tenant_id,
                email=f"owner-{locale}@{venue.slug}.test",
                password_hash="!",
                role="owner",
                locale=locale,
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]
    client = live_admin.app.test_client()
    session_id = new_session_id(live_admin.app, uid)
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    resp = client.get(f"/locations/{venue.location_id}/routers")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_refused_events_show_in_agent_status_heartbeat_and_routers_page(
    live_admin, engine: Engine, venue: Venue, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    cloned = make_venue(engine)  # another router that already sent one event id
    shared = login_event("0911111111", mac="aa:bb:cc:dd:ee:10")
    answer = requests.post(
        f"{live_admin.url}/api/v1/events",
        json={"events": [shared]},
        headers={"Authorization": f"Bearer {cloned.token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    bad = {
        "id": new_event_id(),
        "type": "session_end",
        "occurred_at": utc_now_iso(),
        "mac": "aa:bb:cc:dd:ee:11",
        "data": {"session_id": "s", "started_at": utc_now_iso(), "ended_at": utc_now_iso(),
                 "dwell_seconds": -5, "bytes_in": 0, "bytes_out": 0},
    }  # fmt: skip
    good = login_event("0922222222", mac="aa:bb:cc:dd:ee:12")
    with started_agent(tmp_path, state_dir=state, dnsmasq_conf=None) as (_agent, _kernel):
        _raw_outbox(db_path(state), [good, bad, shared])
        write_enrollment(state, live_admin.url, venue.token)
        worker = SyncWorker(str(db_path(state)), str(state))
        result = worker.run_once()
        sock = str(tmp_path / "agent.sock")
        status_args = ["agent", "status", "--socket", sock, "--state-dir", str(state)]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main([*status_args, "--json"]) == 0
        sync = json.loads(out.getvalue())["sync"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(status_args) == 0
        text = out.getvalue()
    assert result["events"] == 1  # the good one went through; nothing left blocked
    assert outbox_depth(worker.db) == 0
    assert count(engine, "visits", "router_id = :r", r=venue.router_id) == 1
    assert sync["rejected_events"] == 2 and sync["outbox_depth"] == 0
    assert sync["newest_rejected"]["error"] == "foreign_event"
    assert sync["newest_rejected"]["event_id"] == shared["id"]
    assert "WARNING: 2 events refused by the admin" in text and "foreign_event" in text
    with engine.connect() as conn:
        row = conn.execute(
            routers.select().where(routers.c.id == venue.router_id)
        ).one()  # the heartbeat of run_once
    assert row.rejected_events == 2 and "foreign_event" in row.rejected_reason
    page = _owner_page(live_admin, engine, venue)
    assert 'data-rejected="2"' in page and "data-rejected-warning" in page
    assert "2 refused" in page and "409 foreign_event" in page
    assert "2 bị từ chối" in _owner_page(live_admin, engine, venue, "vi")
    # After a fix on the admin an operator re-sends them; here they are refused again.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["agent", "sync", "--state-dir", str(state), "--retry-parked"]) == 0
    assert out.getvalue().splitlines() == [
        "2 parked events put back in the outbox",
        "sent 0 events; 0 left in the outbox",
    ]
    parked = worker.db.execute("SELECT event_id FROM parked_events ORDER BY event_id").fetchall()
    assert sorted(r[0] for r in parked) == sorted([bad["id"], shared["id"]])


def test_routers_page_has_no_warning_without_refused_events(
    live_admin, engine: Engine, venue: Venue
) -> None:
    page = _owner_page(live_admin, engine, venue)
    assert "data-rejected" not in page


def test_store_migration_moves_parked_kv_rows(tmp_path: Path) -> None:
    from sqlite_utils import Database

    path = tmp_path / "agent.db"
    db = Database(sqlite3.connect(str(path), isolation_level=None))
    MIGRATIONS.apply(db, stop_before="m002_parked_events")
    db.execute("INSERT INTO kv (key, value) VALUES ('sync.rejected:abc', '{\"id\": \"abc\"}')")
    db.execute("INSERT INTO kv (key, value) VALUES ('sync.config_etag', 'e1')")
    db.conn.close()
    db = open_db(path)
    rows = db.execute("SELECT event_id, body FROM parked_events").fetchall()
    assert rows == [("abc", '{"id": "abc"}')]
    keys = [r[0] for r in db.execute("SELECT key FROM kv").fetchall()]
    assert keys == ["sync.config_etag"]


def test_status_finds_the_store_beside_the_socket(tmp_path: Path) -> None:
    sock = tmp_path / "agent.sock"
    with started_agent(tmp_path, state_dir=tmp_path, socket_path=sock, dnsmasq_conf=None):
        _raw_outbox(db_path(tmp_path), [login_event("0933333333")])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["agent", "status", "--json", "--socket", str(sock)]) == 0
    assert json.loads(out.getvalue())["sync"] == {
        "outbox_depth": 1,
        "rejected_events": 0,
        "newest_rejected": None,
    }
