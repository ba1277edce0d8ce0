"""The router prunes its store by the tenant's device window (moved clock, no sleeping)."""

from __future__ import annotations

import json

from porchlight.agent import retention
from porchlight.agent.sessions import end_session, open_session, start_session, touch_client
from porchlight.agent.store import kv_set

DAY = 86400.0
T0 = 1_800_000_000.0  # 2027-01-15


def _login(db, mac: str, now: float) -> None:
    touch_client(db, mac, now, ip="10.0.0.9")
    login = {"name": "Lan", "phone": "+84912345678", "consents": [], "tags": []}
    start_session(db, mac=mac, ip="10.0.0.9", now=now, length=3600, channel="form", login=login)
    end_session(db, open_session(db, mac), now + 600, "expired")


def _count(db, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_the_router_forgets_device_data_older_than_the_window_from_its_config(db) -> None:
    _login(db, "02:00:00:00:00:01", T0)
    _login(db, "02:00:00:00:00:02", T0 + 80 * DAY)
    kv_set(db, "sync.config_good", json.dumps({"privacy": {"device_days": 30}}))
    counts = retention.prune_if_due(db, now=T0 + 100 * DAY)
    assert counts is not None and counts["sessions"] == 1 and counts["clients"] == 1
    macs = [r[0] for r in db.execute("SELECT mac FROM sessions")]
    assert macs == ["02:00:00:00:00:02"]
    assert [r[0] for r in db.execute("SELECT mac FROM remembered")] == ["02:00:00:00:00:02"]
    assert retention.prune_if_due(db, now=T0 + 100 * DAY + 60) is None  # hourly at most


def test_the_default_window_is_90_days_and_open_sessions_stay(db) -> None:
    mac = "02:00:00:00:00:03"
    touch_client(db, mac, T0, ip="10.0.0.3")
    start_session(db, mac=mac, ip="10.0.0.3", now=T0, length=3600, channel="click", login=None)
    _login(db, "02:00:00:00:00:04", T0)
    assert retention.device_days(None) == 90
    assert retention.device_days({"privacy": {"device_days": "x"}}) == 90
    retention.prune_if_due(db, now=T0 + 89 * DAY)
    assert _count(db, "sessions") == 2
    retention.prune_if_due(db, now=T0 + 91 * DAY)
    assert _count(db, "sessions") == 1 and open_session(db, mac) is not None
    assert [r[0] for r in db.execute("SELECT mac FROM clients")] == [mac]
