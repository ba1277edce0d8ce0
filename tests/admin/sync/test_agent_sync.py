"""The agent side against the real admin on loopback: enroll, outbox, config, heartbeats."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import Engine
from synckit import Venue, count, fill_outbox, free_port, guest_events, write_enrollment

from porchlight.admin.db import utcnow
from porchlight.admin.schema import portal_settings, router_commands
from porchlight.admin.sync.enrollment import create_router
from porchlight.agent.enroll import enroll
from porchlight.agent.store import db_path, kv_get, open_db, outbox_depth
from porchlight.agent.sync import SyncWorker, backoff_delay
from porchlight.agent.sync_config import KEY_ETAG, KEY_REJECTED, RetryLater
from porchlight.agent.sync_http import AdminUnreachable
from porchlight.cli import main
from porchlight.errors import PorchlightError


class FakeAgent:
    """The daemon's hooks, recording what the worker asked for."""

    def __init__(self) -> None:
        self.applied: list[dict[str, Any]] = []
        self.deauthorized: list[tuple[str, str]] = []
        self.fail_on: int | None = None  # session length that makes applying fail

    def apply_config(self, config: dict[str, Any]) -> None:
        if config["session"]["length_seconds"] == self.fail_on:
            raise RuntimeError("nft -c refused the ruleset")
        self.applied.append(config)

    def status(self) -> dict[str, Any]:
        return {"agent_version": "9.9.9", "uptime_seconds": 42, "clients_online": 5}

    def deauthorize(self, mac: str, reason: str) -> None:
        self.deauthorized.append((mac, reason))


def _worker(state: Path, agent: FakeAgent, **kw: Any) -> SyncWorker:
    return SyncWorker(
        str(db_path(state)),
        str(state),
        apply_config=agent.apply_config,
        status=agent.status,
        deauthorize=agent.deauthorize,
        **kw,
    )


def _settings(engine: Engine, venue: Venue, version: int, length: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            portal_settings.insert().values(
                location_id=venue.location_id,
                version=version,
                settings={"session": {"length_seconds": length}},
                created_at=utcnow(),
            )
        )


def test_enroll_writes_private_token_and_admin_json(
    live_admin, engine: Engine, venue, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        router_id, code = create_router(conn, venue.location_id, "new box")
    state = tmp_path / "state"
    rc = main(["agent", "enroll", live_admin.url, code, "--state-dir", str(state)])
    assert rc == 0
    token_file = state / "device-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    admin = json.loads((state / "admin.json").read_text())
    assert admin["router_id"] == router_id and admin["admin_url"] == live_admin.url
    token = token_file.read_text().strip()
    answer = requests.get(
        f"{live_admin.url}/api/v1/config", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert answer.status_code == 200
    with pytest.raises(PorchlightError, match="already enrolled"):
        enroll(live_admin.url, code, state)
    with pytest.raises(PorchlightError, match="refused"):
        enroll(live_admin.url, code, state, force=True)  # the code was used
    assert token_file.read_text().strip() == token  # a failed enroll changes nothing


def test_enroll_refuses_plain_http_to_a_remote_admin(tmp_path: Path) -> None:
    with pytest.raises(PorchlightError, match="plain http"):
        enroll("http://admin.example.com", "AAAA-BBBB-CCCC", tmp_path / "s")
    assert main(["agent", "enroll", "http://192.0.2.1", "X", "--state-dir", str(tmp_path)]) == 1
    assert not (tmp_path / "s" / "device-token").exists()


def test_outbox_drains_exactly_once(live_admin, engine: Engine, venue, tmp_path: Path) -> None:
    write_enrollment(tmp_path, live_admin.url, venue.token)
    db = open_db(db_path(tmp_path))
    events = guest_events(400, customers=150)  # 1,200 events, 3 batches
    fill_outbox(db, events)
    agent = FakeAgent()
    worker = _worker(tmp_path, agent)
    result = worker.run_once()
    assert result["events"] == 1200
    assert outbox_depth(db) == 0
    assert count(engine, "sync_events", "router_id = :r", r=venue.router_id) == 1200
    assert count(engine, "visits", "router_id = :r", r=venue.router_id) == 400
    assert count(engine, "visits", "dwell_seconds = 600") == 400
    # A crash after the POST, before the delete: the same events again.
    fill_outbox(db, events[:600])
    assert worker.run_once()["events"] == 600
    assert count(engine, "visits", "router_id = :r", r=venue.router_id) == 400
    assert agent.applied and kv_get(db, KEY_ETAG)


def test_config_edit_reaches_the_agent_within_one_poll(
    live_admin, engine: Engine, venue, tmp_path: Path
) -> None:
    write_enrollment(tmp_path, live_admin.url, venue.token)
    agent = FakeAgent()
    poll = 2.0
    worker = _worker(tmp_path, agent, poll_interval=poll, event_interval=0.2)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while not agent.applied and time.monotonic() < deadline:
            time.sleep(0.05)
        assert agent.applied[-1]["session"]["length_seconds"] == 3600
        _settings(engine, venue, 1, 5400)
        edited = time.monotonic()
        while agent.applied[-1]["session"]["length_seconds"] != 5400:
            # one poll interval (with its ±10 % jitter) plus a loaded box's slack
            assert time.monotonic() - edited < 1.1 * poll + 1.0, "not applied within one poll"
            time.sleep(0.05)
    finally:
        worker.stop()
    db = open_db(db_path(tmp_path))
    assert json.loads(kv_get(db, "sync.config_good") or "{}")["session"]["length_seconds"] == 5400


def test_config_that_fails_to_apply_is_rolled_back(
    live_admin, engine: Engine, venue, tmp_path: Path
) -> None:
    write_enrollment(tmp_path, live_admin.url, venue.token)
    agent = FakeAgent()
    agent.fail_on = 999
    worker = _worker(tmp_path, agent)
    worker.run_once()
    db = open_db(db_path(tmp_path))
    good_etag = kv_get(db, KEY_ETAG)
    _settings(engine, venue, 1, 999)
    worker.run_once()
    # rolled back: the last good config applied again, its ETag still reported
    assert agent.applied[-1]["session"]["length_seconds"] == 3600
    assert kv_get(db, KEY_ETAG) == good_etag and kv_get(db, KEY_REJECTED)
    applied = len(agent.applied)
    worker.run_once()  # the broken config is not retried every poll (304)
    assert len(agent.applied) == applied
    _settings(engine, venue, 2, 1800)  # the manager fixes it
    worker.run_once()
    assert agent.applied[-1]["session"]["length_seconds"] == 1800
    assert kv_get(db, KEY_REJECTED) is None


def test_heartbeat_reports_and_runs_deauthorize_commands(
    live_admin, engine: Engine, venue, tmp_path: Path
) -> None:
    write_enrollment(tmp_path, live_admin.url, venue.token)
    with engine.begin() as conn:
        conn.execute(
            router_commands.insert().values(
                router_id=venue.router_id,
                action="deauthorize",
                payload={"mac": "aa:bb:cc:dd:ee:07"},
                created_at=utcnow(),
            )
        )
    agent = FakeAgent()
    result = _worker(tmp_path, agent).run_once()
    assert result["commands"] == 1
    assert agent.deauthorized == [("aa:bb:cc:dd:ee:07", "admin")]
    assert count(engine, "router_commands", "acked_at IS NOT NULL") == 1
    assert count(engine, "routers", "agent_version = '9.9.9' AND clients_online = 5") == 1


def test_retry_after_is_honoured(live_admin, engine: Engine, venue, tmp_path: Path) -> None:
    live_admin.app.config["API_EVENTS_PER_MINUTE"] = 1
    write_enrollment(tmp_path, live_admin.url, venue.token)
    db = open_db(db_path(tmp_path))
    fill_outbox(db, guest_events(200))  # 600 events = 2 batches
    worker = _worker(tmp_path, FakeAgent())
    with pytest.raises(RetryLater) as caught:
        worker.push_events()
    assert caught.value.retry_after is not None and caught.value.retry_after >= 1
    assert outbox_depth(db) == 100  # the first batch went through and was deleted
    assert backoff_delay(1, caught.value.retry_after) >= caught.value.retry_after


def test_admin_down_raises_unreachable_and_backs_off(tmp_path: Path) -> None:
    write_enrollment(tmp_path, f"http://127.0.0.1:{free_port()}", "plr_x")
    db = open_db(db_path(tmp_path))
    fill_outbox(db, guest_events(2))
    worker = _worker(tmp_path, FakeAgent())
    with pytest.raises(AdminUnreachable):
        worker.run_once()
    assert outbox_depth(db) == 6
    worker._round()  # the thread's round records the failure and a retry time
    assert worker.failures == 1 and worker.retry_at > time.monotonic()
    delays = [backoff_delay(n) for n in range(1, 12)]
    assert all(0.5 <= d <= 300 for d in delays) and delays[-1] >= 150
