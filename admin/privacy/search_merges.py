"""SQLite's customer search index does no merge work inside a retention pass's transactions.

Erasing a customer deletes their search document (the ``customers_search_fts_ad``
trigger). FTS5 keeps deletions as small new segments, written when a transaction
commits (or when a DELETE goes to a lower rowid than the one before), and after
every 64 pages written it merges 64 pages per level of older segments
("automerge"), inside whatever transaction wrote them; the merge that ends
deletes all the pages of its input segments at once. In a retention pass at
1,000,000 customers that made one transaction in a few hundred take 100-300 ms
of CPU on a one- or two-customer DELETE (its sub-statements were thousands of
``REPLACE INTO customers_search_fts_data``; benchmarks/retention.py).

For the pass, `quiet` turns automerge off and lets level 0 hold up to
`CRISIS_SEGMENTS` small segments before they are merged together (one
merge of small segments, no large one), then puts both settings back as they
were: the segments the pass left are merged by the writes that follow, as
FTS5 does anyway. FTS5 allows 2,000 segments in all; logins during the pass add
theirs, hence a bound well under that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.db import begin_immediate

log = logging.getLogger(__name__)

FTS = "customers_search_fts"
CRISIS_SEGMENTS = 256  # FTS5's 'crisismerge' during a pass (its default: 16)
DEFAULTS = {"automerge": 4, "crisismerge": 16}  # FTS5's own, when none is stored


def _settings(conn: Connection) -> dict[str, int]:
    stored: dict[str, Any] = dict(
        conn.execute(
            sa.text(f"SELECT k, v FROM {FTS}_config WHERE k IN ('automerge', 'crisismerge')")  # noqa: S608
        ).all()
    )
    return {key: int(stored.get(key, default)) for key, default in DEFAULTS.items()}


def _set(conn: Connection, values: dict[str, int]) -> None:
    begin_immediate(conn)
    try:
        for key, value in values.items():
            conn.execute(
                sa.text(f"INSERT INTO {FTS}({FTS}, rank) VALUES (:k, :v)"),  # noqa: S608
                {"k": key, "v": value},
            )
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


@contextmanager
def quiet(conn: Connection) -> Iterator[None]:
    """Automerge off and `CRISIS_SEGMENTS` for the block (SQLite with the search index)."""
    has_index = (
        conn.dialect.name == "sqlite"
        and conn.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": FTS}
        ).first()
    )
    conn.rollback()
    if not has_index:
        yield
        return
    before = _settings(conn)
    conn.rollback()
    if before["automerge"] == 0:  # a pass that stopped before putting it back
        before["automerge"] = DEFAULTS["automerge"]
    _set(conn, {"automerge": 0, "crisismerge": CRISIS_SEGMENTS})
    try:
        yield
    finally:
        conn.rollback()
        _set(conn, before)
        log.debug("search index merges back to %s", before)


def settle(engine: Any) -> bool:
    """Housekeeping: merges back on when no import or retention pass is running, should
    one have been killed with them off (its worker died: SIGKILL, power cut). Returns
    whether they were put back."""
    if engine.dialect.name != "sqlite":
        return False
    from porchlight.admin import schema

    j = schema.jobs
    with engine.connect() as conn:
        has_index = conn.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": FTS}
        ).first()
        if not has_index or _settings(conn)["automerge"] != 0:
            return False
        busy = conn.execute(
            sa.select(j.c.id)
            .where(j.c.status == "running", j.c.kind.in_(("import", "retention")))
            .limit(1)
        ).first()
        conn.rollback()
        if busy:
            return False
        _set(conn, DEFAULTS)
    log.warning("search index merges were left off (a job was killed): back to %s", DEFAULTS)
    return True
