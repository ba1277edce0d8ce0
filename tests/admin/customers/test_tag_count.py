"""Tags alone in a count or an export are read from customer_tags alone (issue 18).

The count of tags-all walked every customer of the tenant and probed each tag
(1.4 s on SQLite at 1M); now the first tag's customers drive, and customers
is not read. Same customers as the list shows, another tenant's left out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.customers.query import build_customer_query, count_query


@pytest.mark.both_dbs
def test_tags_alone_count_what_the_list_lists(world: Any, factory: Any, engine: Any) -> None:
    now = datetime.now(UTC)
    other = factory.tenant("other")
    there = factory.location(other, "There")
    for i, tags in enumerate([["vip", "wifi"], ["vip"], ["wifi"], [], ["vip", "wifi", "x"]]):
        factory.customer(
            world.tenant_id,
            f"C{i}",
            f"+8490000002{i}",
            visits=[(world.q1, now, "form")],
            tags=tags,
        )
    factory.customer(
        other, "Elsewhere", "+84900000099", visits=[(there, now, "form")], tags=["vip", "wifi"]
    )
    d = engine.dialect.name
    cases = [
        (CustomerFilters(tags=("vip", "wifi"), tag_mode="all"), 2),
        (CustomerFilters(tags=("vip", "wifi")), 4),
        (CustomerFilters(tags=("vip",)), 3),
        (CustomerFilters(tags=("vip", "nope"), tag_mode="all"), 0),
    ]
    for filters, want in cases:
        listed = build_customer_query(filters, world.tenant_id, None, dialect=d)
        alone = build_customer_query(
            filters, world.tenant_id, None, ordered=False, dialect=d, ids_only=True
        )
        with engine.connect() as conn:
            ids = set(conn.execute(listed).scalars())
            assert len(ids) == want, filters
            assert set(conn.execute(alone).scalars()) == ids, filters
            assert conn.execute(count_query(alone)).scalar_one() == want, filters


def test_sqlite_count_of_tags_all_reads_no_customers(world: Any, factory: Any, engine: Any) -> None:
    now = datetime.now(UTC)
    for i in range(10):
        factory.customer(
            world.tenant_id,
            f"C{i}",
            f"+849300000{i:02d}",
            visits=[(world.q1, now, "form")],
            tags=["vip", "wifi"] if i % 2 else ["vip"],
        )
    filters = CustomerFilters(tags=("vip", "wifi"), tag_mode="all")
    query = count_query(
        build_customer_query(
            filters, world.tenant_id, None, ordered=False, dialect="sqlite", ids_only=True
        )
    )
    compiled = query.compile(dialect=engine.dialect)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        rows = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(compiled),
            tuple(compiled.params[k] for k in compiled.positiontup or ()),
        ).all()
        assert conn.execute(query).scalar_one() == 5
    plan = "\n".join(str(r[-1]) for r in rows)
    assert "SEARCH customer_tags USING COVERING INDEX ix_customer_tags_tag (tag_id=?)" in plan
    assert "customers" not in plan.replace("customer_tags", ""), plan
