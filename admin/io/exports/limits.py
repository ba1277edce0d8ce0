"""Bounds of an export written while its requester waits (the immediate download).

- `TooManyRows`: the export holds more rows than asked for (counted with the
  export's own query, stopped at the bound: a million-row tenant costs what
  5,001 rows do).
- `TooSlow`: it did not finish in time. `time_limit` ends a statement that
  runs past the deadline (SQLite: a progress handler; PostgreSQL: the
  transaction's ``statement_timeout``) and `until` stops between batches.

Either way nothing is kept: the caller queues the export as a job instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

T = TypeVar("T")


class TooManyRows(Exception):
    def __init__(self, at_least: int) -> None:
        super().__init__(f"at least {at_least} rows")
        self.at_least = at_least


class TooSlow(Exception):
    pass


def count_up_to(conn: Connection, query: sa.Select[Any], bound: int) -> int:
    """How many rows `query` gives, counting no further than `bound`."""
    limited = query.limit(bound).subquery("bounded")
    return int(conn.execute(sa.select(sa.func.count()).select_from(limited)).scalar() or 0)


@contextmanager
def time_limit(conn: Connection, deadline: float | None) -> Iterator[None]:
    """Statements on `conn` end with `TooSlow` once `time.monotonic()` passes `deadline`."""
    if deadline is None:
        yield
        return
    if conn.dialect.name == "sqlite":
        raw: Any = conn.connection.driver_connection
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 20_000)
        try:
            yield
        except sa.exc.OperationalError as exc:
            if time.monotonic() > deadline:
                raise TooSlow() from exc
            raise
        finally:
            raw.set_progress_handler(None, 0)
        return
    left_ms = max(1, int((deadline - time.monotonic()) * 1000))
    conn.execute(sa.select(sa.func.set_config("statement_timeout", str(left_ms), True)))
    try:
        yield
    except sa.exc.OperationalError as exc:
        if "statement timeout" in str(exc.orig) or time.monotonic() > deadline:
            raise TooSlow() from exc
        raise


def until(batches: Iterable[T], deadline: float | None) -> Iterator[T]:
    """The batches, ending with `TooSlow` when one is asked for past `deadline`."""
    for batch in batches:
        if deadline is not None and time.monotonic() > deadline:
            raise TooSlow()
        yield batch
