"""Row writers of the sync ingest: counters, tags, devices (set-based, both dialects).

Each takes the rows of one batch and writes them with one executemany, using
INSERT .. ON CONFLICT (SQLite and PostgreSQL spell it the same through
SQLAlchemy's dialect inserts). Times only move forward: a late-arriving older
visit never replaces a newer `last_visit_at` (clock skew, reordered batches).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from porchlight.admin.db import UTCDateTime
from porchlight.admin.schema import customer_locations, customer_tags, customers, devices, tags
from porchlight.admin.sync.enrollment import RouterIdentity


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def bind(name: str, type_: Any = None) -> Any:
    return sa.bindparam(name, type_=type_)


def _later(column: Any, value: Any) -> Any:
    """CASE: the bound value when the column is empty or older than it."""
    return sa.case((sa.or_(column.is_(None), column <= value), value), else_=column)


def bump_counters(
    conn: Connection, router: RouterIdentity, per_customer: dict[int, dict[str, Any]], now: datetime
) -> None:
    first, last = bind("b_first", UTCDateTime()), bind("b_last", UTCDateTime())
    c = customers.c
    conn.execute(
        customers.update()
        .where(c.id == bind("b_id"))
        .values(
            visit_count=c.visit_count + bind("b_n"),
            first_visit_at=sa.case(
                (sa.or_(c.first_visit_at.is_(None), c.first_visit_at > first), first),
                else_=c.first_visit_at,
            ),
            last_channel=sa.case(
                (sa.or_(c.last_visit_at.is_(None), c.last_visit_at <= last), bind("b_channel")),
                else_=c.last_channel,
            ),
            last_location_id=sa.case(
                (sa.or_(c.last_visit_at.is_(None), c.last_visit_at <= last), bind("b_loc")),
                else_=c.last_location_id,
            ),
            last_visit_at=_later(c.last_visit_at, last),
            updated_at=bind("b_now", UTCDateTime()),
        ),
        [
            {
                "b_id": cid,
                "b_n": agg["n"],
                "b_first": agg["first"],
                "b_last": agg["last"],
                "b_channel": agg["channel"],
                "b_loc": router.location_id,
                "b_now": now,
            }
            for cid, agg in sorted(per_customer.items())
        ],
    )
    cl = customer_locations
    ins = dialect_insert(conn, cl)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["customer_id", "location_id"],
            set_={
                "visit_count": cl.c.visit_count + ins.excluded.visit_count,
                "first_visit_at": sa.case(
                    (
                        sa.or_(
                            cl.c.first_visit_at.is_(None),
                            cl.c.first_visit_at > ins.excluded.first_visit_at,
                        ),
                        ins.excluded.first_visit_at,
                    ),
                    else_=cl.c.first_visit_at,
                ),
                "last_visit_at": _later(cl.c.last_visit_at, ins.excluded.last_visit_at),
            },
        ),
        [
            {
                "customer_id": cid,
                "location_id": router.location_id,
                "visit_count": agg["n"],
                "first_visit_at": agg["first"],
                "last_visit_at": agg["last"],
            }
            for cid, agg in sorted(per_customer.items())
        ],
    )


def add_tags(conn: Connection, tenant_id: int, pairs: set[tuple[int, str]]) -> None:
    names = sorted({name for _, name in pairs})
    conn.execute(
        dialect_insert(conn, tags).on_conflict_do_nothing(),
        [{"tenant_id": tenant_id, "name": name} for name in names],
    )
    ids = dict(
        conn.execute(
            sa.select(tags.c.name, tags.c.id).where(
                tags.c.tenant_id == tenant_id, tags.c.name.in_(names)
            )
        ).all()
    )
    conn.execute(
        dialect_insert(conn, customer_tags).on_conflict_do_nothing(),
        [{"customer_id": cid, "tag_id": ids[name]} for cid, name in sorted(pairs)],
    )


def upsert_devices(conn: Connection, rows: list[dict[str, Any]]) -> None:
    ins = dialect_insert(conn, devices)
    d = devices.c
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["customer_id", "mac"],
            set_={
                "hostname": sa.func.coalesce(ins.excluded.hostname, d.hostname),
                "vendor_class": sa.func.coalesce(ins.excluded.vendor_class, d.vendor_class),
                "randomized": ins.excluded.randomized,
                "last_seen_at": _later(d.last_seen_at, ins.excluded.last_seen_at),
            },
        ),
        rows,
    )
