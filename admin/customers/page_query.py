"""One page of the customer list, read beside the page's other look-ups.

A list page is one keyset query (the ids of the page and the next page's
cursor, `page_ids`), the page's details (admin/customers/table_rows.py) and
half a dozen small look-ups (locations, groups, tags, the selection, saved
segments, finished exports). The keyset query is the long one (tags-all at 1M
on PostgreSQL: ~14 ms of the server's time, with this process idle); `start`
runs it and the details on a connection of their own in a worker thread, and
the request's thread reads the look-ups meanwhile, and then renders the page
up to the table (`PendingRows` waits for the page where the template first
uses it). On SQLite the two threads'
queries run on both cores (sqlite3 lets go of the GIL while it works).

The worker gets everything as arguments (no request, no `current_user`): the
work is pure reading, and a failure there is raised again by `Future.result`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection, Engine

from porchlight.admin.customers.filters import CustomerFilters, decode_cursor, encode_cursor
from porchlight.admin.customers.query import (
    build_customer_query,
    search_key,
    second_phase,
    sort_plan,
    uses_name_index,
)
from porchlight.admin.customers.search_plan import SearchHits, pg_hits, sqlite_hits
from porchlight.admin.customers.table_rows import page_details
from porchlight.admin.db import serial_plans

# Pages read at once by one process (gunicorn's sync workers: one request at a time;
# more for a threaded server). Each holds one pooled connection while it reads.
WORKERS = 4

_lock = threading.Lock()
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    """This process's pool (made after a fork: a parent's threads do not come along)."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid():
            _pool = (os.getpid(), ThreadPoolExecutor(WORKERS, thread_name_prefix="list-page"))
        return _pool[1]


@dataclass(frozen=True)
class Page:
    next_cursor: str | None
    details: list[dict[str, Any]]  # table_rows.page_details, in list order


def search_hits(conn: Connection, q: str | None) -> SearchHits | None:
    """Dense or few (SQLite: the matching ids), admin/customers/search_plan.py."""
    dialect = conn.dialect.name
    if not q or not uses_name_index(q, dialect, SearchHits(dense=False)):
        return None
    return sqlite_hits(conn, search_key(q)) if dialect == "sqlite" else pg_hits(conn, search_key(q))


def page_ids(
    conn: Connection,
    filters: CustomerFilters,
    tenant_id: int,
    scope: list[int] | None,
    region: str,
    size: int,
) -> tuple[list[int], str | None]:
    """One page of ids in list order and the cursor of the next page."""
    dialect = conn.dialect.name
    serial_plans(conn)
    hits = search_hits(conn, filters.q)
    query = build_customer_query(
        filters,
        tenant_id,
        scope,
        region=region,
        limit=size + 1,
        walk_sort_index=True,
        dialect=dialect,
        hits=hits,
    )
    decoded = decode_cursor(filters.after) if filters.after else None
    phase = decoded[0] if decoded else 1
    rows = [(r.id, r.sort_key, phase) for r in conn.execute(query)]
    location_mode = filters.location is not None or (scope is not None and len(scope) == 1)
    plan = sort_plan(filters.sort, location_mode)
    if plan.nullable and phase == 1 and len(rows) <= size:
        # The visited customers ran out: go on with those who never visited.
        unordered = build_customer_query(
            filters, tenant_id, scope, region=region, ordered=False, dialect=dialect, hits=hits
        )
        by_name = uses_name_index(filters.q, dialect, hits)
        extra = second_phase(unordered, plan, size + 1 - len(rows), by_name)
        rows += [(r.id, None, 2) for r in conn.execute(extra)]
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more and rows:
        last_id, last_key, phase = rows[-1]
        next_cursor = encode_cursor(phase, last_key, last_id)
    return [r[0] for r in rows], next_cursor


def read_page(
    engine: Engine,
    filters: CustomerFilters,
    tenant_id: int,
    scope: list[int] | None,
    region: str,
    size: int,
) -> Page:
    with engine.connect() as conn:
        ids, next_cursor = page_ids(conn, filters, tenant_id, scope, region, size)
        details = page_details(conn, ids, filters.location, scope)
    return Page(next_cursor, details)


def start(
    engine: Engine,
    filters: CustomerFilters,
    tenant_id: int,
    scope: list[int] | None,
    region: str,
    size: int,
) -> Future[Page]:
    """`read_page` in this process's worker threads; `.result()` waits for it."""
    return _executor().submit(read_page, engine, filters, tenant_id, scope, region, size)


Row = TypeVar("Row")


class PendingRows(Generic[Row]):
    """A page's table rows, waited for when the template first uses them (`for`,
    `if`, `length`): the page above the table is rendered while the worker reads.
    `shape` turns the page's details into rows in the request's thread (locale,
    money, time zones)."""

    def __init__(self, page: Future[Page], shape: Callable[[list[dict[str, Any]]], list[Row]]):
        self._page, self._shape = page, shape
        self._rows: list[Row] | None = None
        self._next: str | None = None

    def _done(self) -> list[Row]:
        if self._rows is None:
            page = self._page.result()
            self._rows, self._next = self._shape(page.details), page.next_cursor
        return self._rows

    def __iter__(self) -> Iterator[Row]:
        return iter(self._done())

    def __len__(self) -> int:
        return len(self._done())

    def __bool__(self) -> bool:
        return bool(self._done())

    @property
    def next_cursor(self) -> str | None:
        self._done()
        return self._next
