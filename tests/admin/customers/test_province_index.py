"""Migration 0019: PostgreSQL counts a channel beside a province from indexes alone.

The province's customers come from ``ix_customers_tenant_province`` with their
ids (INCLUDE id), the channel's from ``ix_customer_channels_tenant_channel``;
the table is not read. The migration goes down and up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import migrate
from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.customers.list_page import matching_count
from porchlight.admin.customers.query import build_customer_query, count_query
from porchlight.admin.db import make_engine


@pytest.mark.pg
@pytest.mark.both_dbs
def test_channel_and_province_counted_from_indexes(
    db_kind: str, world: Any, factory: Any, engine: Any
) -> None:
    if db_kind != "pg":
        pytest.skip("SQLite's indexes end with the rowid already")
    now = datetime.now(UTC)
    for i in range(12):
        cid = factory.customer(
            world.tenant_id, f"C{i}", f"+849400000{i:02d}", visits=[(world.q1, now, "zalo")]
        )
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE customers SET province = :p WHERE id = :id"),
                {"p": "Hà Nội" if i % 2 else "Huế", "id": cid},
            )
    filters = CustomerFilters(channel="zalo", province="Hà Nội")
    query = count_query(
        build_customer_query(
            filters, world.tenant_id, None, ordered=False, dialect="postgresql", ids_only=True
        )
    )
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.exec_driver_sql("VACUUM ANALYZE customers")  # this test's statistics
        auto.exec_driver_sql("VACUUM ANALYZE customer_channels")
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%")))
        assert matching_count(conn, filters, world.tenant_id, None, "VN") == (6, False)
    assert "Index Only Scan using ix_customers_tenant_province" in plan, plan


def _includes_id(engine: Any) -> bool:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
            {"n": "ix_customers_tenant_province"},
        ).scalar_one()
    return "INCLUDE (id)" in found


@pytest.mark.pg
def test_migration_0019_down_and_up_on_postgresql(empty_pg: str) -> None:  # noqa: F811
    engine = make_engine(empty_pg)
    try:
        migrate.upgrade(engine, "0019")
        assert _includes_id(engine)
        migrate.downgrade(engine, "0018")
        assert not _includes_id(engine)
        migrate.upgrade(engine, "0019")
        assert _includes_id(engine)
    finally:
        engine.dispose()
