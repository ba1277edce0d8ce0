"""Migration 0021: PostgreSQL keeps each customer's tag ids on the row, and the
tags filter reads them from the last-visit index (admin/customers/link_filters.py).

`customer_tags` stays the truth; `customers.tag_ids` must equal it after any
writer: inserts, deletes, moves, cascades, two writers at once, the migration's
fill of existing rows.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import migrate, schema
from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.customers.merge import merge_customers
from porchlight.admin.customers.query import build_customer_query
from porchlight.admin.db import make_engine

PG = pytest.mark.parametrize("db_kind", [pytest.param("pg", marks=pytest.mark.pg)], indirect=True)
T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)

DRIFT = """
SELECT c.id, c.tag_ids, coalesce(t.ids, '{}') AS truth FROM customers c
  LEFT JOIN (SELECT customer_id, array_agg(tag_id ORDER BY tag_id) AS ids
               FROM customer_tags GROUP BY customer_id) t ON t.customer_id = c.id
 WHERE c.tag_ids <> coalesce(t.ids, '{}')
"""


def drift(engine: Any) -> list[Any]:
    """Customers whose tag_ids differ from their customer_tags rows."""
    with engine.connect() as conn:
        return conn.exec_driver_sql(DRIFT).all()


def tag_ids(engine: Any, customer_id: int) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.exec_driver_sql(
                "SELECT tag_ids FROM customers WHERE id = %(id)s", {"id": customer_id}
            ).scalar_one()
        )


def tag(engine: Any, tenant_id: int, name: str) -> int:
    t = schema.tags
    with engine.begin() as conn:
        return int(
            conn.execute(t.insert().values(tenant_id=tenant_id, name=name)).inserted_primary_key[0]
        )


def names(html: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/customers/\d+">([^<]*)</a>', html)


@PG
def test_every_kind_of_write_keeps_tag_ids(world, factory, engine):
    an = factory.customer(world.tenant_id, "An", "+84912345678", tags=["wifi", "vip"])
    binh = factory.customer(world.tenant_id, "Bình", "+84987654321")
    with engine.connect() as conn:
        t = {r.name: r.id for r in conn.execute(sa.select(schema.tags))}
    assert tag_ids(engine, an) == sorted([t["wifi"], t["vip"]])
    assert tag_ids(engine, binh) == []
    ct = schema.customer_tags
    cafe = tag(engine, world.tenant_id, "cà phê")
    with engine.begin() as conn:  # many customers in one statement, and one already tagged
        conn.execute(ct.insert(), [{"customer_id": an, "tag_id": cafe},
                                   {"customer_id": binh, "tag_id": cafe},
                                   {"customer_id": binh, "tag_id": t["vip"]}])  # fmt: skip
    assert tag_ids(engine, an) == sorted([t["wifi"], t["vip"], cafe])
    with engine.begin() as conn:  # a tag moved from one customer to another
        conn.execute(ct.update().where(ct.c.customer_id == an, ct.c.tag_id == t["wifi"])
                     .values(customer_id=binh))  # fmt: skip
    assert tag_ids(engine, an) == sorted([t["vip"], cafe])
    assert tag_ids(engine, binh) == sorted([t["wifi"], t["vip"], cafe])
    with engine.begin() as conn:  # a tag deleted: its links go by cascade
        conn.execute(schema.tags.delete().where(schema.tags.c.id == t["vip"]))
    assert tag_ids(engine, binh) == sorted([t["wifi"], cafe])
    with engine.begin() as conn:
        conn.execute(ct.delete().where(ct.c.customer_id == binh))
    assert tag_ids(engine, binh) == []
    assert drift(engine) == []


@PG
def test_a_merge_keeps_tag_ids(world, factory, engine):
    keep = factory.customer(world.tenant_id, "An", "+84912345678", tags=["wifi"])
    drop = factory.customer(world.tenant_id, "An 2", "+84912345679", tags=["vip", "wifi"])
    with engine.begin() as conn:
        merge_customers(conn, world.tenant_id, keep, drop)
    assert len(tag_ids(engine, keep)) == 2
    assert drift(engine) == []


@PG
def test_two_writers_tagging_one_customer_at_once_both_count(world, factory, engine):
    """The second UPDATE waits for the first's row and then reads it again: each
    adds its tag to what the other wrote."""
    an = factory.customer(world.tenant_id, "An", "+84912345678")
    a, b = tag(engine, world.tenant_id, "a"), tag(engine, world.tenant_id, "b")
    ct = schema.customer_tags
    done = threading.Event()

    def second() -> None:
        with engine.begin() as conn:
            conn.execute(ct.insert().values(customer_id=an, tag_id=b))  # waits for `first`
        done.set()

    writer = threading.Thread(target=second)
    with engine.connect() as first:
        first.execute(ct.insert().values(customer_id=an, tag_id=a))  # holds the row's lock
        writer.start()
        waited = not done.wait(0.5)
        first.commit()
    writer.join(10)
    assert waited, "the second writer should wait for the first"
    assert done.is_set()
    assert tag_ids(engine, an) == sorted([a, b])
    assert drift(engine) == []


@pytest.mark.both_dbs
def test_tags_any_and_all_with_a_name_nobody_has(owner_client, world, factory):
    visit = [(world.q1, T0, "form")]
    factory.customer(world.tenant_id, "An", "+84912345678", visits=visit, tags=["vip", "wifi"])
    factory.customer(world.tenant_id, "Bình", "+84987654321",
                     visits=[(world.q1, T0 + timedelta(days=1), "form")], tags=["vip"])  # fmt: skip
    factory.customer(world.tenant_id, "Chi", "+84355555555", visits=visit)
    other = factory.tenant("other")  # the same tag names elsewhere do not count
    factory.customer(other, "Other", "+84377777777", visits=[(factory.location(other, "X"), T0,
                     "form")], tags=["vip", "wifi"])  # fmt: skip

    def shown(query: str) -> list[str]:
        return names(owner_client.get("/customers" + query).get_data(as_text=True))

    assert shown("?tag=vip&tag=wifi&tag_mode=all") == ["An"]
    assert shown("?tag=vip&tag=wifi") == ["Bình", "An"]
    assert shown("?tag=vip&tag=nobody&tag_mode=all") == []
    assert shown("?tag=wifi&tag=nobody") == ["An"]
    assert shown("?tag=vip&tag=wifi&tag_mode=all&sort=name") == ["An"]
    assert sorted(shown(f"?tag=vip&location={world.q1}&sort=visits")) == ["An", "Bình"]


@PG
def test_the_default_list_reads_tags_in_the_index_it_walks(world, factory, engine):
    for i in range(20):
        factory.customer(world.tenant_id, f"C{i}", f"+8491000000{i:02d}",
                         visits=[(world.q1, T0 + timedelta(hours=i), "form")],
                         tags=["vip", "wifi"] if i % 2 else ["vip"])  # fmt: skip
    query = build_customer_query(
        CustomerFilters(tags=("vip", "wifi"), tag_mode="all"), world.tenant_id, None,
        limit=51, walk_sort_index=True, dialect="postgresql",
    )  # fmt: skip
    sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.exec_driver_sql("VACUUM ANALYZE customers")
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_bitmapscan = off")
        # 20 rows: the planner may sort them from any index; a big tenant's list walks
        conn.exec_driver_sql("SET enable_sort = off")
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql.replace("%", "%%")))
        assert len(conn.exec_driver_sql(sql.replace("%", "%%")).all()) == 10
    # Index Only once the visibility map says so (not always in a busy test run)
    assert "Scan Backward using ix_customers_tenant_last_visit" in plan, plan
    assert "Filter: (tag_ids @> ARRAY[" in plan, plan
    assert "customer_tags" not in plan, plan


@pytest.mark.pg
def test_migration_0021_fills_existing_rows_and_goes_down_and_up(empty_pg: str) -> None:
    engine = make_engine(empty_pg)
    try:
        migrate.upgrade(engine, "0020")
        with engine.begin() as conn:
            tid = conn.exec_driver_sql(
                "INSERT INTO tenants (slug, name, created_at) VALUES ('t', 'T', now()) RETURNING id"
            ).scalar_one()
            cid = conn.exec_driver_sql(
                "INSERT INTO customers (tenant_id, name, visit_count, spend_total, created_at,"
                " updated_at) VALUES (%(t)s, 'An', 0, 0, now(), now()) RETURNING id",
                {"t": tid},
            ).scalar_one()
            ids = [
                conn.exec_driver_sql(
                    "INSERT INTO tags (tenant_id, name) VALUES (%(t)s, %(n)s) RETURNING id",
                    {"t": tid, "n": n},
                ).scalar_one()
                for n in ("b", "a")
            ]
            for i in ids:
                conn.exec_driver_sql(
                    "INSERT INTO customer_tags (customer_id, tag_id) VALUES (%(c)s, %(i)s)",
                    {"c": cid, "i": i},
                )
        migrate.upgrade(engine, "0021")
        assert tag_ids(engine, cid) == sorted(ids)
        with engine.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_customers_tenant_last_visit'"
            ).scalar_one()
        assert "INCLUDE (tag_ids)" in found
        migrate.downgrade(engine, "0020")
        with engine.connect() as conn:
            cols = (
                conn.exec_driver_sql(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_name = 'customers'"
                )
                .scalars()
                .all()
            )
        assert "tag_ids" not in cols
        migrate.upgrade(engine, "0021")
        assert tag_ids(engine, cid) == sorted(ids)
        assert drift(engine) == []
    finally:
        engine.dispose()
