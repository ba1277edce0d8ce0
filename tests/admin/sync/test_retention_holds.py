"""What keeps a retention pass's write transactions short at scale (#20): a regular's
thousands of visits go in chunks, erasing a customer does not read all selections, and a
login waiting for SQLite's write lock gets it as soon as it is let go (real databases)."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from synckit import count, login_event, make_venue

from porchlight.admin import schema
from porchlight.admin.privacy import batches, retention
from porchlight.admin.sync.enrollment import RouterIdentity
from porchlight.admin.sync.ingest import ingest_batch, write_transaction
from porchlight.events import validate_event

NOW = datetime(2028, 6, 1, tzinfo=UTC)
VISITS = 5000


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def store(request: pytest.FixtureRequest) -> Engine:
    if request.param == "sqlite":
        return request.getfixturevalue("engine")
    return request.getfixturevalue("pg_engine")


def _regular(engine: Engine) -> tuple[int, int]:
    """A tenant whose one customer came VISITS times, the last in 2020: (tenant, customer)."""
    v = make_venue(engine)
    router = RouterIdentity(v.router_id, v.tenant_id, v.location_id, "front desk")
    with write_transaction(engine, v.tenant_id) as conn:
        event = login_event("0913000001", occurred_at="2020-12-31T10:00:00.000Z")
        ingest_batch(conn, router, [validate_event(event)])
    c, vis, k = schema.customers, schema.visits, schema.consents
    with engine.begin() as conn:
        cid = conn.execute(sa.select(c.c.id).where(c.c.tenant_id == v.tenant_id)).scalar_one()
        first = datetime(2019, 1, 1, tzinfo=UTC)
        common = {"tenant_id": v.tenant_id, "customer_id": cid, "location_id": v.location_id}
        conn.execute(
            vis.insert(),
            [
                common
                | {
                    "mac": "aa:bb:cc:dd:ee:01",
                    "channel": "form",
                    "started_at": at,
                    "received_at": at,
                }
                for at in (first + timedelta(hours=i) for i in range(VISITS - 1))
            ],
        )
        conn.execute(
            k.insert(),
            [
                common
                | {
                    "purpose": "wifi",
                    "granted": True,
                    "text_version": "wifi-v1",
                    "given_at": first + timedelta(hours=i),
                    "received_at": first + timedelta(hours=i),
                }
                for i in range(VISITS - 1)
            ],
        )
        conn.execute(c.update().where(c.c.id == cid).values(visit_count=VISITS))
    return v.tenant_id, cid


def test_a_regulars_thousands_of_visits_are_erased_over_several_short_transactions(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id, cid = _regular(store)
    monkeypatch.setattr(batches, "TXN_ROWS_MAX", 100)
    monkeypatch.setattr(batches, "MAX_CHUNK", 50)
    left: list[int] = []  # the customer's visits and consents, after each commit

    def between(_done: int) -> None:
        left.append(
            count(store, "visits", "customer_id = :c", c=cid)
            + count(store, "consents", "customer_id = :c", c=cid)
        )

    result = retention.run(store, tenant_id, now=NOW, progress=between)
    assert result["customers"] == 1
    assert count(store, "customers", "id = :c", c=cid) == 0
    assert count(store, "visits", "customer_id = :c", c=cid) == 0
    held = [2 * VISITS, *left]
    gone = [a - b for a, b in zip(held, held[1:], strict=False)]
    # Before, one DELETE of the customer took its 10,000 rows in one transaction.
    assert max(gone) <= 1000, gone
    assert len([n for n in gone if n]) >= 10


def test_erasing_a_customer_finds_their_selections_by_index(store: Engine) -> None:
    indexes = sa.inspect(store).get_indexes("customer_selections")
    assert [ix["column_names"] for ix in indexes if ix["name"].endswith("customer_id")] == [
        ["customer_id"]
    ]
    if store.dialect.name != "sqlite":
        return
    with store.connect() as conn:
        plan = " ".join(
            row[-1]
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN DELETE FROM customer_selections WHERE customer_id = 7"
            )
        )
    # The cascade of an erasure is this statement; it was "SCAN customer_selections".
    assert "USING COVERING INDEX ix_customer_selections_customer_id" in plan, plan


def _late_ms(engine: Engine, tenant_id: int, hold_s: float) -> float:
    """How long after another connection lets go of the write lock a login gets it."""
    holder = sqlite3.connect(
        str(engine.url.database), isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    released: list[float] = []

    def release() -> None:
        time.sleep(hold_s)
        released.append(time.perf_counter())
        holder.execute("COMMIT")

    thread = threading.Thread(target=release)
    thread.start()
    with write_transaction(engine, tenant_id) as conn:
        got = time.perf_counter()
        conn.exec_driver_sql("SELECT 1")
    thread.join()
    holder.close()
    return (got - released[0]) * 1000


def test_a_login_waiting_for_the_write_lock_gets_it_soon_after_it_is_let_go(
    engine: Engine,
) -> None:
    v = make_venue(engine)
    # SQLite's own busy handler tries at 128, 178, 228 ms, then every 100 ms:
    # holds a fifth of that apart, one of them is let go some 80 ms before it looks.
    late = [_late_ms(engine, v.tenant_id, hold) for hold in (0.25, 0.27, 0.29, 0.31, 0.33)]
    assert max(late) < 40, late
    with engine.connect() as conn:  # the connection's own busy timeout is back
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000


def _fts_settings(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT k, v FROM customers_search_fts_config").all()
    return {k: int(v) for k, v in rows if k in ("automerge", "crisismerge")}


def test_a_pass_leaves_search_merges_and_full_collections_out_of_its_transactions(
    engine: Engine,
) -> None:
    tenant_id, _cid = _regular(engine)
    router_v = make_venue(engine)  # another tenant's customer, found by search after
    router = RouterIdentity(router_v.router_id, router_v.tenant_id, router_v.location_id, "desk")
    with write_transaction(engine, router_v.tenant_id) as conn:
        ingest_batch(conn, router, [validate_event(login_event("0913999999", name="Mai Anh"))])
    during: list[tuple[dict[str, int], int]] = []

    def between(_done: int) -> None:
        during.append((_fts_settings(engine), gc.get_freeze_count()))

    assert gc.get_freeze_count() == 0
    retention.run(engine, tenant_id, now=NOW, progress=between)
    # FTS5's automerge (pages of old segments merged inside whatever transaction
    # wrote new ones) is off for the pass, and level 0 may hold 256 segments.
    assert during and all(s == {"automerge": 0, "crisismerge": 256} for s, _ in during)
    # Python's full collections skip the objects made before the pass.
    assert all(frozen > 1000 for _, frozen in during)
    assert _fts_settings(engine) == {"automerge": 4, "crisismerge": 16}
    assert gc.get_freeze_count() == 0
    with engine.connect() as conn:
        found = conn.exec_driver_sql(
            "SELECT count(*) FROM customers_search_fts WHERE customers_search_fts MATCH 'Mai Anh'"
        ).scalar()
    assert found == 1


@pytest.mark.pg
def test_a_pass_on_postgresql_commits_without_waiting_for_the_disk(pg_engine: Engine) -> None:
    """A COMMIT that waits for its WAL's fsync holds the tenant's lock as long (#20)."""
    seen: list[str] = []

    def step(conn: sa.Connection, size: int) -> int:
        seen.append(conn.exec_driver_sql("SHOW synchronous_commit").scalar_one())
        return 0

    with pg_engine.connect() as conn:
        batches.Batches(conn, 1, batches.Pass(), 25.0).drain(step, lambda: None)
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "on"
    assert seen == ["off"]


def test_a_transaction_of_cheap_rows_stops_at_five_hundred(engine: Engine) -> None:
    """Its COMMIT writes the pages of all its rows: 800 device deletions' COMMIT took
    12 ms of CPU at 1M customers, and a hold at load 3-8 lasts about three times
    its CPU (#20)."""
    left = [1500]

    def step(conn: sa.Connection, size: int) -> int:
        done = min(size, left[0])
        left[0] -= done
        return done

    stats = batches.Pass()
    with engine.connect() as conn:
        batches.Batches(conn, 1, stats, 10_000.0).drain(step, lambda: None)
    assert stats.most_rows == 500
    assert stats.batches == 4  # the last one finds nothing more


@pytest.mark.pg
def test_each_transaction_reads_its_select_before_taking_the_lock(pg_engine: Engine) -> None:
    """Rows a pass deleted stay in PostgreSQL's indexes until a vacuum: the first scan
    over them visits each in the table. At 1M that was the erased customers'
    100,000 visits in one SELECT of 10 rows, 788 ms with the tenant's lock held
    (logins waited 686 ms). Read once before the lock, the locked SELECT skips them
    (longest hold 550-794 -> 33 ms) (#20)."""
    tenant_id, _cid = _regular(pg_engine)
    statements: list[str] = []

    def seen(conn: sa.Connection, cursor: object, statement: str, *args: object) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(pg_engine, "before_cursor_execute", seen)
    try:
        retention.run(pg_engine, tenant_id, now=NOW)
    finally:
        sa.event.remove(pg_engine, "before_cursor_execute", seen)
    locks = [i for i, s in enumerate(statements) if "pg_advisory_xact_lock" in s]
    assert len(locks) >= 5  # every step ran, the regular's visits over several
    for i in locks:
        before = [s for s in statements[:i] if s.startswith("SELECT")][-1]
        after = next(s for s in statements[i + 1 :] if s.startswith("SELECT"))
        assert before == after, (before, after)
