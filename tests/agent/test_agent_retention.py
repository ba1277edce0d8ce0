"""The router prunes its store by the tenant's device window (moved clock, no sleeping)."""

from __future__ import annotations

import json
import sqlite3

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


def _old_sessions(db, n: int, when: str) -> None:
    db.conn.executemany(
        "INSERT INTO sessions (id, mac, ip, channel, started_at, expires_at, ended_at, "
        "last_activity_at, bytes_in, bytes_out, reason) "
        "VALUES (?, ?, '10.0.0.9', 'form', ?, ?, ?, ?, 1000, 100, 'expired')",
        [(f"s{i}", f"02:00:00:00:{i >> 8 & 255:02x}:{i & 255:02x}", when, when, when, when)
         for i in range(n)],
    )  # fmt: skip


def test_a_big_prune_is_many_short_transactions_the_gate_can_write_between(
    db, tmp_path, monkeypatch
) -> None:
    _old_sessions(db, 1000, "2026-01-01T00:00:00.000Z")
    monkeypatch.setattr(retention, "MAX_BATCH", 100)
    path = str(tmp_path / "agent.db")
    left: list[int] = []

    def between() -> None:  # after each COMMIT: the lock is free, the work so far is seen
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" if a prune held it
            left.append(other.execute("SELECT count(*) FROM sessions").fetchone()[0])
            other.execute("INSERT INTO kv (key, value) VALUES (?, 'x')", [f"gate{len(left)}"])
            other.execute("COMMIT")
        finally:
            other.close()

    stats: dict = {}
    counts = retention.prune(db, T0, 90, set(), stats=stats, between=between)
    assert counts["sessions"] == 1000 and _count(db, "sessions") == 0
    assert stats["most_rows"] <= 100 and stats["transactions"] >= 10
    assert 0 < left[0] < 1000 and left == sorted(left, reverse=True)  # seen as it goes
    assert _count(db, "kv") >= 10  # the other connection wrote between every two batches


def test_old_voucher_uses_go_when_no_code_is_handed_out_any_more(db) -> None:
    db.execute(
        "INSERT INTO voucher_uses (code, mac, session_id, used_at) "
        "VALUES ('OLD1', '02:00:00:00:00:09', 's1', '2026-01-01T00:00:00.000Z')"
    )
    counts = retention.prune(db, T0, 90, set())
    assert counts["voucher_uses"] == 1 and _count(db, "voucher_uses") == 0
