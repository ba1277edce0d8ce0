"""Every field of every event and heartbeat is bounded: bad router data gets a 4xx, never a 500.

A refused event is named by its index, so the agent parks it and the rest of
its outbox flows; nothing of a refused batch is stored. The router's clock
skew is recorded from its heartbeats and batches. The 409 for another
router's event id names the event's position in the batch as sent.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine
from synckit import Venue, count, login_event, make_venue, write_enrollment

from porchlight.admin.db import utcnow
from porchlight.admin.schema import routers
from porchlight.agent.store import db_path, open_db, outbox_depth
from porchlight.agent.sync import SyncWorker
from porchlight.events import new_event_id, utc_now_iso


def _iso(delta: timedelta) -> str:
    return (utcnow() + delta).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _post(live_admin: Any, venue: Venue, body: Any, path: str = "/api/v1/events") -> Any:
    data = body if isinstance(body, bytes) else _encode(body)
    return requests.post(
        live_admin.url + path,
        data=data,
        headers={"Authorization": f"Bearer {venue.token}", "Content-Type": "application/json"},
        timeout=30,
    )


def _end(**data: Any) -> dict[str, Any]:
    base = {
        "session_id": "s-1",
        "started_at": _iso(timedelta(minutes=-5)),
        "ended_at": utc_now_iso(),
        "dwell_seconds": 300,
        "bytes_in": 1,
        "bytes_out": 1,
    }
    return {
        "id": new_event_id(),
        "type": "session_end",
        "occurred_at": utc_now_iso(),
        "mac": "aa:bb:cc:dd:ee:02",
        "data": base | data,
    }


def _deep(levels: int) -> str:
    """A marker `_post` replaces by `levels` nested arrays (json.dumps cannot nest so)."""
    return f"@deep:{levels}@"


def _encode(body: Any) -> bytes:
    text = json.dumps(body)
    while "@deep:" in text:
        start = text.index('"@deep:')
        end = text.index('@"', start + 2) + 2
        levels = int(text[start + 7 : end - 2])
        text = text[:start] + "[" * levels + "1" + "]" * levels + text[end:]
    return text.encode()


BAD_EVENTS = {
    "year 9999": lambda: login_event(occurred_at="9999-12-31T23:59:59Z"),
    "before year 1 in UTC": lambda: login_event(occurred_at="0001-01-01T00:00:00+14:00"),
    "1970 (a router without NTP)": lambda: login_event(occurred_at="1970-01-01T00:00:00Z"),
    "two days ahead": lambda: login_event(occurred_at=_iso(timedelta(days=2))),
    "bytes 2^70": lambda: _end(bytes_in=2**70),
    "bytes 2^53": lambda: _end(bytes_out=2**53),
    "dwell 2^40": lambda: _end(dwell_seconds=2**40),
    "a float": lambda: _end(bytes_in=1.5),
    "ended in year 9999": lambda: _end(ended_at="9999-12-31T00:00:00Z"),
    "NUL in a name": lambda: login_event(name="Lan\x00"),
    "bell in a name": lambda: login_event(name="Lan\x07"),
    "carriage return in a name": lambda: login_event(name="Lan\rX"),
    "C1 control in a hostname": lambda: {
        **login_event(),
        "data": {**login_event()["data"], "device": {"hostname": "ph\x9bone"}},
    },
    "escape in a tag": lambda: login_event(tags=["vip\x1b[31m"]),
    "session id of 65": lambda: login_event(session_id="s" * 65),
    "100,000-deep junk": lambda: {**login_event(), "junk": _deep(100_000)},
}


@pytest.mark.parametrize("case", list(BAD_EVENTS))
def test_a_bad_event_is_refused_by_index_and_nothing_is_stored(
    live_admin: Any, engine: Engine, venue: Venue, case: str
) -> None:
    batch = [login_event("0911111111"), BAD_EVENTS[case](), login_event("0922222222")]
    answer = _post(live_admin, venue, {"sent_at": utc_now_iso(), "events": batch})
    assert answer.status_code == 422, answer.text
    assert answer.json()["index"] == 1
    assert count(engine, "sync_events") == 0 and count(engine, "visits") == 0


def test_a_lone_surrogate_is_refused(live_admin: Any, venue: Venue) -> None:
    body = json.dumps({"events": [login_event()]}).replace('"Lan"', '"L\\ud800n"').encode()
    answer = _post(live_admin, venue, body)
    assert answer.status_code == 422 and answer.json()["index"] == 0


def test_a_deep_body_outside_the_events_is_a_400(live_admin: Any, venue: Venue) -> None:
    answer = _post(live_admin, venue, {"events": [], "x": _deep(100_000)})
    assert answer.status_code == 400 and answer.json()["error"] == "too_deep"
    answer = _post(live_admin, venue, b"[" * 100_000 + b"]" * 100_000)
    assert answer.status_code == 400


def test_tabs_newlines_and_any_script_are_accepted(
    live_admin: Any, engine: Engine, venue: Venue
) -> None:
    event = login_event(name="Nguyễn\tThị\nLan 🙂 ลูกค้า عربي", tags=["sinh nhật"])
    answer = _post(live_admin, venue, {"events": [event]})
    assert answer.status_code == 200, answer.text
    assert count(engine, "visits") == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("uptime_seconds", 2**70),
        ("uptime_seconds", 2**53),
        ("clients_online", 2**31),
        ("outbox_depth", -1),
        ("rejected_events", True),
        ("agent_version", "1.0\x07"),
        ("rejected_reason", "x" * 201),
        ("config_etag", "e\x00"),
        ("clock", "0001-01-01T00:00:00+14:00"),
        ("clock", "yesterday"),
    ],
)
def test_a_bad_heartbeat_field_is_a_422_naming_it(
    live_admin: Any, venue: Venue, field: str, value: Any
) -> None:
    answer = _post(live_admin, venue, {field: value}, "/api/v1/heartbeat")
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_the_routers_clock_skew_is_recorded(live_admin: Any, engine: Engine, venue: Venue) -> None:
    ahead = _post(live_admin, venue, {"clock": _iso(timedelta(hours=3))}, "/api/v1/heartbeat")
    assert ahead.status_code == 200
    with engine.connect() as conn:
        skew = conn.execute(routers.select().where(routers.c.id == venue.router_id)).one()
    assert abs(skew.clock_skew_seconds - 3 * 3600) < 60
    # A router back in 1970: its events are refused and the skew says why.
    old = login_event(occurred_at="1970-01-01T00:05:00Z")
    answer = _post(live_admin, venue, {"sent_at": "1970-01-01T00:10:00Z", "events": [old]})
    assert answer.status_code == 422
    with engine.connect() as conn:
        row = conn.execute(routers.select().where(routers.c.id == venue.router_id)).one()
    assert row.clock_skew_seconds < -50 * 365 * 86400


def test_the_agent_parks_the_bad_event_and_the_rest_flows(
    live_admin: Any, engine: Engine, venue: Venue, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    good = [login_event("0911111111"), login_event("0922222222", mac="aa:bb:cc:dd:ee:07")]
    bad = login_event("0933333333", occurred_at="9999-12-31T23:59:59Z")
    db = open_db(db_path(state))
    db.close()
    conn = sqlite3.connect(db_path(state))
    with conn:
        conn.executemany(
            "INSERT INTO outbox (event_id, body, created_at) VALUES (?, ?, ?)",
            [(e["id"], json.dumps(e), utc_now_iso()) for e in (good[0], bad, good[1])],
        )
    conn.close()
    write_enrollment(state, live_admin.url, venue.token)
    worker = SyncWorker(str(db_path(state)), str(state), events_only=True)
    assert worker.push_events() == 2
    assert outbox_depth(worker.db) == 0
    parked = worker.db.execute("SELECT event_id, status FROM parked_events").fetchall()
    assert parked == [(bad["id"], 422)]
    assert count(engine, "visits") == 2


def test_409_names_the_position_in_the_batch_as_sent(
    live_admin: Any, engine: Engine, venue: Venue
) -> None:
    cloned = make_venue(engine)
    first_foreign, second_foreign = login_event("0911111111"), login_event("0922222222")
    for event in (second_foreign, first_foreign):
        assert _post(live_admin, cloned, {"events": [event]}).status_code == 200
    mine = login_event("0933333333")
    assert _post(live_admin, venue, {"events": [mine]}).status_code == 200
    # [mine, mine, mine, first_foreign, second_foreign]: deduplicated, first_foreign
    # would be index 1; the agent's batch has it at 3.
    batch = [mine, mine, mine, first_foreign, second_foreign]
    answer = _post(live_admin, venue, {"events": batch})
    assert answer.status_code == 409
    assert answer.json()["index"] == 3
    batch = [second_foreign, mine, first_foreign]  # the earlier of two foreign ones
    assert _post(live_admin, venue, {"events": batch}).json()["index"] == 0
