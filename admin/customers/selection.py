"""Ticked rows of the customer list: they belong to the list they were ticked on.

A user's selection (`customer_selections`) is kept with the list it was made
on (`customer_selection_lists.filters`: the list's filters as a query string,
sort and page left out, so paging and sorting keep it). Another list starts
with nothing ticked, ticking there replaces the old selection, and an export
of the selection clears it, so a later export can never pick up stale rows.

Writes are atomic and commutative: each request adds or removes ids (INSERT
.. ON CONFLICT DO NOTHING, DELETE) in one transaction, so two quick ticks
both land whatever order they arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.db import utcnow

MAX_SELECTED = 20_000


def list_key(filters: CustomerFilters) -> str:
    """The list a selection belongs to: its filters, without sort or page."""
    return filters.query_string(after=None, sort="last_visit")[:2000]


def _list_of(conn: Connection, user_id: int) -> str | None:
    sl = schema.customer_selection_lists
    found = conn.execute(sa.select(sl.c.filters).where(sl.c.user_id == user_id)).scalar()
    return None if found is None else str(found)


def selected_ids(conn: Connection, user_id: int, key: str) -> list[int]:
    """The ids ticked on the list `key` (none when the selection is another list's)."""
    if _list_of(conn, user_id) != key:
        return []
    s = schema.customer_selections
    return list(
        conn.execute(
            sa.select(s.c.customer_id)
            .where(s.c.user_id == user_id)
            .order_by(s.c.customer_id)
            .limit(MAX_SELECTED)
        ).scalars()
    )


def clear(conn: Connection, user_id: int) -> None:
    conn.execute(
        schema.customer_selections.delete().where(schema.customer_selections.c.user_id == user_id)
    )
    sl = schema.customer_selection_lists
    conn.execute(sl.delete().where(sl.c.user_id == user_id))


def change(
    conn: Connection, user_id: int, key: str, add: Iterable[int], remove: Iterable[int]
) -> None:
    """Tick `add` and untick `remove` on the list `key` (ids already checked as visible)."""
    sl, s = schema.customer_selection_lists, schema.customer_selections
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    if _list_of(conn, user_id) != key:  # ticking on another list: that one starts afresh
        conn.execute(s.delete().where(s.c.user_id == user_id))
        stmt = insert(sl).values(user_id=user_id, filters=key, made_at=utcnow())
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["user_id"],
                set_={"filters": stmt.excluded.filters, "made_at": stmt.excluded.made_at},
            )
        )
    gone = sorted(set(remove))
    if gone:
        conn.execute(s.delete().where(s.c.user_id == user_id, s.c.customer_id.in_(gone)))
    new = sorted(set(add) - set(gone))
    if new:
        conn.execute(
            insert(s).on_conflict_do_nothing(),
            [{"user_id": user_id, "customer_id": i} for i in new],
        )
