"""A retention pass over many rows is many short transactions: each is bounded, others
see its work as it goes, and logins get through between them (a real SQLite file and a
real PostgreSQL, no mocks)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from synckit import Venue, count, login_event, make_venue

from porchlight.admin.privacy import batches, retention
from porchlight.admin.sync.enrollment import RouterIdentity
from porchlight.admin.sync.ingest import ADVISORY_NAMESPACE, ingest_batch, write_transaction
from porchlight.events import validate_event

STALE = 300
NOW = datetime(2028, 6, 1, tzinfo=UTC)  # the pass's clock: 2020 is long gone


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def store(request: pytest.FixtureRequest) -> Engine:
    if request.param == "sqlite":
        return request.getfixturevalue("engine")
    return request.getfixturevalue("pg_engine")


def _ingest(engine: Engine, v: Venue, events: list[dict]) -> None:
    router = RouterIdentity(v.router_id, v.tenant_id, v.location_id, "front desk")
    with write_transaction(engine, v.tenant_id) as conn:
        ingest_batch(conn, router, [validate_event(e) for e in events])


def _stale_guests(engine: Engine, v: Venue) -> None:
    """STALE customers whose only visit was in 2020, the last one on Dec 31st."""
    for start in range(0, STALE, 100):
        _ingest(
            engine,
            v,
            [
                login_event(
                    f"09130{i:05d}",
                    mac=f"aa:bb:cc:00:{i >> 8:02x}:{i & 255:02x}",
                    occurred_at=f"2020-{1 + i * 11 // STALE:02d}-01T10:00:00.000Z"
                    if i < STALE - 1
                    else "2020-12-31T10:00:00.000Z",
                )
                for i in range(start, min(start + 100, STALE))
            ],
        )


def _lock_is_free(engine: Engine, tenant_id: int) -> bool:
    """Could a login take the write lock right now, without waiting at all?"""
    if engine.dialect.name == "sqlite":
        probe = sqlite3.connect(str(engine.url.database), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:  # database is locked
            return False
        finally:
            probe.close()
    with engine.connect() as conn:
        got = conn.execute(
            sa.text("SELECT pg_try_advisory_xact_lock(:ns, :t)"),
            {"ns": ADVISORY_NAMESPACE, "t": tenant_id},
        ).scalar_one()
        conn.rollback()
        return bool(got)


def test_a_pass_over_many_customers_lets_logins_in_between_its_transactions(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    v = make_venue(store)
    _stale_guests(store, v)
    monkeypatch.setattr(batches, "TXN_ROWS_MAX", 40)
    left: list[int] = []
    free: list[bool] = []
    where = "tenant_id = :t AND last_visit_at < '2021-01-01'"

    def between(_done: int) -> None:
        # Called by the pass after each COMMIT: another connection sees the
        # erasures so far, the lock is free, and a login goes through.
        left.append(count(store, "customers", where, t=v.tenant_id))
        free.append(_lock_is_free(store, v.tenant_id))
        if len(left) == 1:  # the guest the pass would erase last comes back
            _ingest(store, v, [login_event(f"09130{STALE - 1:05d}", mac="aa:bb:cc:00:ff:ff")])

    result = retention.run(store, v.tenant_id, now=NOW, progress=between)
    assert result["customers"] == STALE - 1  # the one who came back stays
    assert count(store, "customers", "tenant_id = :t", t=v.tenant_id) == 1
    assert result["most_rows"] <= 40
    erasing = [n for n in left if n > 0]
    # One commit per 40 customers at most, each seen by others as it happens.
    assert len(erasing) >= (STALE - 1) // 40
    assert 0 < left[0] < STALE - 1
    assert erasing == sorted(erasing, reverse=True) and len(set(erasing)) == len(erasing)
    assert all(free)
