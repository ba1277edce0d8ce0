"""Migration 0005: its indexes serve the queries they were made for; it goes down and up.

The plans are read for the SQL the code really sends (captured while the
returning-device look-up and the dashboard run), on SQLite with statistics.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pgdb import new_pg_database
from sqlalchemy.engine import Engine
from synckit import make_venue

from porchlight.admin import dashboard, migrate, schema
from porchlight.admin.db import make_engine
from porchlight.admin.sync.ingest_customers import CustomerResolver


def _seed(engine: Engine, tenant_id: int, n: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        ids = (
            conn.execute(
                schema.customers.insert().returning(
                    schema.customers.c.id, sort_by_parameter_order=True
                ),
                [
                    {
                        "tenant_id": tenant_id,
                        "name": f"Guest {i}",
                        "phone": f"+8491{i:07d}",
                        "first_visit_at": start + timedelta(hours=i),
                        "created_at": start,
                        "updated_at": start,
                    }
                    for i in range(n)
                ],
            )
            .scalars()
            .all()
        )
        conn.execute(
            schema.devices.insert(),
            [
                {
                    "tenant_id": tenant_id,
                    "customer_id": cid,
                    "mac": f"02:00:00:00:{i >> 8 & 0xFF:02x}:{i & 0xFF:02x}",
                    "first_seen_at": start,
                    "last_seen_at": start + timedelta(hours=i),
                }
                for i, cid in enumerate(ids)
            ],
        )
        conn.exec_driver_sql("ANALYZE")


def _captured(engine: Engine, run: Any, needle: str) -> tuple[str, Any]:
    """The one statement containing `needle` that `run(conn)` sends, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if needle in statement:
            seen.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        with engine.connect() as conn:
            run(conn)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert seen, f"no statement with {needle!r} was sent"
    return seen[0]


def _plan(engine: Engine, statement: str, params: Any) -> str:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_sqlite_plans_use_the_new_indexes(engine: Engine) -> None:
    other, v = make_venue(engine), make_venue(engine)
    _seed(engine, other.tenant_id, 3000)
    _seed(engine, v.tenant_id, 3000)

    def by_device(conn: Any) -> None:
        resolver = CustomerResolver(conn, v.tenant_id, "VN", datetime.now(UTC))
        assert resolver._by_device("02:00:00:00:00:07") is not None

    plan = _plan(engine, *_captured(engine, by_device, "FROM devices"))
    assert "USING INDEX ix_devices_tenant_mac (tenant_id=? AND mac=?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan

    def new_customers(conn: Any) -> None:
        # a zone off the whole hour (UTC+5:30): the dashboard counts from customers
        # (whole-hour zones sum the customer_hours rollup, migration 0016)
        dashboard.collect(conn, v.tenant_id, None, 30, 330)

    plan = _plan(engine, *_captured(engine, new_customers, "first_visit_at >="))
    assert (
        "USING COVERING INDEX ix_customers_tenant_first_visit (tenant_id=? AND first_visit_at>?)"
        in plan
    ), plan


def _indexes(engine: Engine, table: str) -> set[str]:
    return {str(ix["name"]) for ix in sa.inspect(engine).get_indexes(table)}


def _round_trip(engine: Engine) -> None:
    migrate.upgrade(engine)
    assert {"ix_devices_tenant_mac"} <= _indexes(engine, "devices")
    assert {"ix_customers_tenant_first_visit"} <= _indexes(engine, "customers")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("routers")}
    assert {"rejected_events", "rejected_reason"} <= columns
    migrate.downgrade(engine, "0004")
    inspector = sa.inspect(engine)
    assert "pending_session_ends" not in inspector.get_table_names()
    assert "ix_devices_tenant_mac" not in _indexes(engine, "devices")
    assert "rejected_events" not in {c["name"] for c in inspector.get_columns("routers")}
    migrate.upgrade(engine)
    assert "pending_session_ends" in sa.inspect(engine).get_table_names()


def test_migration_0005_down_and_up_on_sqlite_keeps_router_commands(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine, "0004")
    venue = make_venue(engine)
    with engine.begin() as conn:
        conn.execute(
            schema.router_commands.insert().values(
                router_id=venue.router_id,
                action="deauthorize",
                payload={"mac": "aa:bb:cc:dd:ee:01"},
                created_at=datetime.now(UTC),
            )
        )
    _round_trip(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM router_commands")).scalar() == 1
    engine.dispose()


@pytest.mark.pg
def test_migration_0005_down_and_up_on_postgresql(pg_url: str) -> None:
    with new_pg_database("porchlight_m5") as url:
        engine = make_engine(url)
        try:
            _round_trip(engine)
        finally:
            engine.dispose()


def test_sqlite_dashboard_of_one_location_reads_indexes_alone(engine: Engine) -> None:
    """Migration 0020: a location's new customers and its customers per login channel
    (the dashboard of one location, or a manager's) came from the table row by row:
    400-700 ms at 1M customers / 10M visits on SQLite (issue 18: < 300)."""
    other, v = make_venue(engine), make_venue(engine)
    now = datetime.now(UTC)
    for venue in (other, v):
        _seed(engine, venue.tenant_id, 500)
        with engine.begin() as conn:
            ids = conn.execute(
                sa.select(schema.customers.c.id).where(
                    schema.customers.c.tenant_id == venue.tenant_id
                )
            ).scalars()
            rows = [
                {
                    "tenant_id": venue.tenant_id,
                    "customer_id": cid,
                    "location_id": venue.location_id,
                    "channel": ("form", "zalo", "line")[i % 3],
                    "started_at": now - timedelta(hours=i),
                    "received_at": now,
                }
                for i, cid in enumerate(ids)
            ]
            conn.execute(schema.visits.insert(), rows)
            conn.execute(
                schema.customer_locations.insert(),
                [
                    {
                        "customer_id": r["customer_id"],
                        "location_id": venue.location_id,
                        "visit_count": 1,
                        "first_visit_at": r["started_at"],
                        "last_visit_at": r["started_at"],
                    }
                    for r in rows
                ],
            )
            conn.exec_driver_sql("ANALYZE")

    def one_location(conn: Any) -> None:
        dashboard.collect(conn, v.tenant_id, [v.location_id], 30, 420)

    new = _plan(engine, *_captured(engine, one_location, "customer_locations.first_visit_at >="))
    assert "COVERING INDEX ix_customer_locations_loc_first (location_id=? AND first_vis" in new, new
    channels = _plan(engine, *_captured(engine, one_location, "count(DISTINCT visits.customer_id)"))
    assert "COVERING INDEX ix_visits_location_started (location_id=? AND started_at>?)" in channels


def test_migration_0020_gives_its_indexes_statistics_where_sqlite_has_them(
    tmp_path: Path,
) -> None:
    """With statistics for the older indexes of customer_locations and none for the new
    one, SQLite listed a location sorted by visits through the new index and sorted
    all of it (at 1M: 15 -> 110 ms a page)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'stats.db'}")
    migrate.upgrade(engine, "0019")
    v = make_venue(engine)
    with engine.begin() as conn:
        ids = conn.execute(
            schema.customers.insert().returning(schema.customers.c.id),
            [
                {"tenant_id": v.tenant_id, "name": f"G{i}", "created_at": datetime.now(UTC),
                 "updated_at": datetime.now(UTC)}
                for i in range(300)
            ],
        ).scalars().all()  # fmt: skip
        conn.execute(
            schema.customer_locations.insert(),
            [
                {"customer_id": cid, "location_id": v.location_id, "visit_count": i % 7,
                 "first_visit_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)}
                for i, cid in enumerate(ids)
            ],
        )  # fmt: skip
        conn.exec_driver_sql("ANALYZE")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT customer_id FROM customer_locations "
                "WHERE location_id = ? ORDER BY visit_count DESC, customer_id DESC LIMIT 51",
                (v.location_id,),
            )
        )
    engine.dispose()
    assert "ix_customer_locations_loc_visits" in plan and "TEMP B-TREE" not in plan, plan
