"""customer_channels.tenant_id (migration 0017): right after every write, and the count uses it.

Counting one login channel reads ``ix_customer_channels_tenant_channel``
alone, so a row with no tenant, or another tenant's, would be counted wrong
or not at all. After ingest (two tenants, a replay), an import, a merge and
an erasure, each channel's count equals the customers found through
``customers`` (the tenant's customers having the channel), the export takes
the same customers, and no row's tenant differs from its customer's. The
plans: the count of a channel alone reads the index and not ``customers``.
The migration fills existing rows and goes down and up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_admin_visit_rollup import login

from porchlight.admin import migrate, schema
from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.customers.list_page import matching_count
from porchlight.admin.customers.merge import merge_customers
from porchlight.admin.customers.query import build_customer_query, count_query
from porchlight.admin.db import make_engine
from porchlight.admin.io.exports.rows import export_query
from porchlight.admin.io.imports.job import import_file
from porchlight.admin.sync.enrollment import RouterIdentity, create_router, enroll
from porchlight.admin.sync.ingest import ingest_batch, write_transaction

cc, c = schema.customer_channels, schema.customers
CHANNELS = ("form", "zalo", "click", "import")


def through_customers(conn: Any, tenant_id: int, channel: str) -> set[int]:
    """The tenant's customers with the channel, found through customers (not cc.tenant_id)."""
    return set(
        conn.execute(
            sa.select(cc.c.customer_id)
            .join(c, c.c.id == cc.c.customer_id)
            .where(c.c.tenant_id == tenant_id, cc.c.channel == channel)
        ).scalars()
    )


def check(engine: Any, tenants: list[int]) -> dict[tuple[int, str], int]:
    """Every channel's count (as /customers/count counts it) and export are right."""
    counted = {}
    with engine.connect() as conn:
        wrong = conn.execute(
            sa.select(sa.func.count())
            .select_from(cc.join(c, c.c.id == cc.c.customer_id))
            .where(cc.c.tenant_id != c.c.tenant_id)
        ).scalar_one()
        assert wrong == 0
        for t in tenants:
            for channel in CHANNELS:
                want = through_customers(conn, t, channel)
                filters = CustomerFilters(channel=channel)
                assert matching_count(conn, filters, t, None, "VN") == (len(want), False)
                exported = export_query(
                    t,
                    "filtered",
                    filters=filters,
                    ids=None,
                    location_scope=None,
                    region="VN",
                    dialect=conn.dialect.name,
                )
                assert set(conn.execute(exported).scalars()) == want, (t, channel)
                counted[(t, channel)] = len(want)
    return counted


def _router(engine: Any, tenant_id: int, location_id: int) -> RouterIdentity:
    with engine.begin() as conn:
        _rid, code = create_router(conn, location_id, "desk")
        identity, _token = enroll(conn, code)
    return RouterIdentity(identity.router_id, tenant_id, location_id, "desk")


@pytest.mark.both_dbs
def test_every_write_keeps_the_channel_count_right(
    owner_client: Any, world: Any, factory: Any, csrf: Any, engine: Any, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    t = world.tenant_id
    other = factory.tenant("other")
    there = factory.location(other, "There")
    here, away = _router(engine, t, world.q1), _router(engine, other, there)

    # the same phones in both tenants: a customer in each
    def events(n: int) -> list[dict[str, Any]]:
        return [
            login("0911111111", now - timedelta(hours=5)),
            login("0911111111", now - timedelta(hours=4), "zalo"),
            login("0922222222", now - timedelta(hours=3), "zalo"),
            login("0933333333", now - timedelta(hours=2), "click"),
        ][:n]

    for router, batch in ((here, events(4)), (away, events(2))):
        for _ in range(2):  # a replay adds nothing
            with write_transaction(engine, router.tenant_id) as conn:
                ingest_batch(conn, router, batch)
    counts = check(engine, [t, other])
    assert (counts[(t, "zalo")], counts[(other, "zalo")], counts[(other, "click")]) == (2, 1, 0)

    path = tmp_path / "c.csv"
    path.write_text("Tên,Điện thoại\r\nMới,0955555555\r\nA,0911111111\r\n", encoding="utf-8")
    import_file(engine, path, tenant_id=t, location_id=world.q1, dry_run=False)
    assert check(engine, [t, other])[(t, "import")] == 2

    with engine.connect() as conn:
        ids = dict(conn.execute(sa.select(c.c.phone, c.c.id).where(c.c.tenant_id == t)).all())
    keep, drop = ids["+84922222222"], ids["+84933333333"]
    with engine.begin() as conn:
        merge_customers(conn, t, keep, drop)  # the kept one gains "click"
    counts = check(engine, [t, other])
    assert (counts[(t, "click")], counts[(t, "zalo")]) == (1, 2)

    token = csrf(owner_client, f"/customers/{keep}")
    owner_client.post(f"/customers/{keep}/delete", data={"csrf_token": token, "confirm": "yes"})
    counts = check(engine, [t, other])
    assert (counts[(t, "click")], counts[(t, "zalo")], counts[(other, "zalo")]) == (0, 1, 1)


def _count_sql(engine: Any, tenant_id: int, channel: str) -> tuple[str, Any]:
    """The statement /customers/count sends for one channel, compiled for the engine."""
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "count(" in statement.lower():
            seen.append((statement, params))

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        with engine.connect() as conn:
            matching_count(conn, CustomerFilters(channel=channel), tenant_id, None, "VN")
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert len(seen) == 1, seen
    return seen[0]


@pytest.mark.both_dbs
def test_a_channel_is_counted_from_its_index_alone(world: Any, factory: Any, engine: Any) -> None:
    now = datetime.now(UTC)
    for i in range(30):
        factory.customer(
            world.tenant_id,
            f"C{i}",
            f"+849100000{i:02d}",
            visits=[(world.q1, now, "zalo" if i % 3 else "form")],
        )
    # a bigger tenant beside it: the tenant's range is worth an index
    other = factory.tenant("other")
    there = factory.location(other, "There")
    for i in range(60):
        factory.customer(other, f"O{i}", f"+849110000{i:02d}", visits=[(there, now, "zalo")])
    statement, params = _count_sql(engine, world.tenant_id, "zalo")
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
            plan = "\n".join(str(r[-1]) for r in rows)
            want = (
                "USING COVERING INDEX ix_customer_channels_tenant_channel "
                "(tenant_id=? AND channel=?)"
            )
        else:
            # statistics of this table, not of an earlier test's (it took the primary key)
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            auto.exec_driver_sql("VACUUM ANALYZE customer_channels")
            # a tiny table: the planner would read it whole; say what a big one gets
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET enable_bitmapscan = off")
            rows = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
            plan = "\n".join(str(r[0]) for r in rows)
            want = "Index Only Scan using ix_customer_channels_tenant_channel"
        assert want in plan, plan
        assert "customers " not in plan.replace("customer_channels", ""), plan
    with engine.connect() as conn:
        filters = CustomerFilters(channel="zalo")
        assert matching_count(conn, filters, world.tenant_id, None, "VN") == (20, False)


def _rows_before_0017(engine: Any) -> dict[str, int]:
    """Two tenants with a customer each, and their channels, written at 0016."""
    migrate.upgrade(engine, "0016")
    now = datetime.now(UTC)
    ids = {}
    with engine.begin() as conn:
        for slug in ("a", "b"):
            conn.execute(
                sa.text("INSERT INTO tenants (slug, name, created_at) VALUES (:s, :s, :now)"),
                {"s": slug, "now": now},
            )
            t = conn.execute(sa.text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})
            tenant_id = t.scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO customers (tenant_id, name, created_at, updated_at) "
                    "VALUES (:t, :s, :now, :now)"
                ),
                {"t": tenant_id, "s": slug, "now": now},
            )
            cid = conn.execute(
                sa.text("SELECT id FROM customers WHERE tenant_id = :t"), {"t": tenant_id}
            ).scalar_one()
            for channel in ("form", "zalo"):
                conn.execute(
                    sa.text(
                        "INSERT INTO customer_channels (customer_id, channel) VALUES (:c, :ch)"
                    ),
                    {"c": cid, "ch": channel},
                )
            ids[slug] = tenant_id
    return ids


def _indexes(engine: Any) -> set[str]:
    return {str(ix["name"]) for ix in sa.inspect(engine).get_indexes("customer_channels")}


def _check_up_down(engine: Any) -> None:
    tenants = _rows_before_0017(engine)
    migrate.upgrade(engine, "0017")
    with engine.connect() as conn:
        got = set(conn.execute(sa.text("SELECT tenant_id, channel FROM customer_channels")))
    assert got == {(t, ch) for t in tenants.values() for ch in ("form", "zalo")}
    assert "ix_customer_channels_tenant_channel" in _indexes(engine)
    assert "ix_customer_channels_channel" not in _indexes(engine)
    inspector = sa.inspect(engine)
    column = {col["name"]: col for col in inspector.get_columns("customer_channels")}
    assert column["tenant_id"]["nullable"] is False
    pk = inspector.get_pk_constraint("customer_channels")["constrained_columns"]
    assert pk == ["customer_id", "channel"]
    fks = inspector.get_foreign_keys("customer_channels")
    assert {(fk["referred_table"], fk["options"].get("ondelete")) for fk in fks} == {
        ("customers", "CASCADE"),
        ("tenants", "CASCADE"),
    }
    assert "customer_channels_0016" not in inspector.get_table_names()
    with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(
            sa.text("INSERT INTO customer_channels (customer_id, channel) VALUES (1, 'click')")
        )
    migrate.downgrade(engine, "0016")
    assert "tenant_id" not in {
        col["name"] for col in sa.inspect(engine).get_columns("customer_channels")
    }
    assert "ix_customer_channels_channel" in _indexes(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM customer_channels")).scalar() == 4
    migrate.upgrade(engine, "0017")
    with engine.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM customer_channels WHERE tenant_id IS NOT NULL")
            ).scalar()
            == 4
        )


def test_migration_0017_fills_the_tenant_and_goes_down_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        _check_up_down(engine)
    finally:
        engine.dispose()


@pytest.mark.pg
def test_migration_0017_fills_the_tenant_and_goes_down_on_postgresql(empty_pg: str) -> None:
    engine = make_engine(empty_pg)
    try:
        _check_up_down(engine)
    finally:
        engine.dispose()


def test_sqlite_checks_a_channel_beside_other_filters_from_the_key_alone(
    world: Any, factory: Any, engine: Any
) -> None:
    """Beside a province, the channel is one covering probe of the primary key per
    customer; in a location's count, customers are not read at all."""
    now = datetime.now(UTC)
    for i in range(20):
        factory.customer(
            world.tenant_id, f"C{i}", f"+849200000{i:02d}", visits=[(world.q1, now, "zalo")]
        )
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    for filters in (
        CustomerFilters(channel="zalo", province="Hà Nội"),
        CustomerFilters(channel="zalo", location=world.q1, visits_min=1),
    ):
        query = count_query(
            build_customer_query(
                filters, world.tenant_id, None, ordered=False, dialect="sqlite", ids_only=True
            )
        )
        compiled = query.compile(dialect=engine.dialect)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + str(compiled),
                tuple(compiled.params[k] for k in compiled.positiontup or ()),
            ).all()
            counted = conn.execute(query).scalar_one()
        plan = "\n".join(str(r[-1]) for r in rows)
        assert "SEARCH customer_channels USING COVERING INDEX" in plan, plan
        if filters.location is not None:
            assert "customers " not in plan, plan
            assert counted == 20
