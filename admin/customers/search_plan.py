"""How the customer list searches and counts at a million customers (issue 17).

A search's cost depends on how many customers match. ``nguyen`` matches four
in ten: sorting all of them to show the first 50 takes a second, while
walking the list's sort index and checking each customer finds a page in a
hundred rows. A rare name is the other way round: the search index gives its
few matches at once, and walking would read the whole table to find none.

On SQLite, `sqlite_hits` asks the FTS5 trigram table (every tenant's
documents) for at most `DENSE` matches: fewer, and the list page uses those
ids (one index scan, no second one for the page); that many, and the page
walks its sort index with a per-row check instead. PostgreSQL's planner
makes the same choice itself from its statistics on the indexed search
document.

Counting a match is cheap; counting 400,000 of them is not, and nobody reads
the exact number: `capped_count` stops at `COUNT_CAP` (the list shows
"More than 10,000"). One or two characters have no trigram to look up: the
page walks its sort index, and `counts_matches` says the list does not
count them (every row would be read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

DENSE = 10_000  # FTS matches (every tenant's) from which the page walks its sort index
COUNT_CAP = 10_000  # the list counts matches up to this many, then says "more than"
MIN_INDEXED = 3  # trigram: shorter text is checked row by row

search_fts = sa.table(
    "customers_search_fts", sa.column("customers_search_fts"), sa.column("rowid"), sa.column("doc")
)


@dataclass(frozen=True)
class SearchHits:
    """A text search resolved before the list page's query (SQLite).

    `ids`: every matching customer id (all tenants), fewer than `DENSE`;
    None when the search is dense (the page walks its sort index)."""

    ids: tuple[int, ...] | None

    @property
    def dense(self) -> bool:
        return self.ids is None

    def id_condition(self, id_col: Any) -> sa.ColumnElement[bool]:
        each = sa.func.json_each(json.dumps(self.ids)).table_valued("value")
        return id_col.in_(sa.select(each.c.value))


def fts_phrase(q: str) -> str:
    """`q` as one FTS5 phrase: its syntax (``*``, ``OR``, ``NEAR(``, ``-``) is plain text."""
    return '"' + q.replace('"', '""') + '"'


def fts_match(key: str) -> sa.ColumnElement[bool]:
    return search_fts.c.customers_search_fts.match(fts_phrase(key))


def sqlite_hits(conn: Connection, key: str) -> SearchHits:
    """The matching ids of a folded search `key` (3+ characters), or dense."""
    ids = list(
        conn.execute(sa.select(search_fts.c.rowid).where(fts_match(key)).limit(DENSE)).scalars()
    )
    return SearchHits(tuple(ids) if len(ids) < DENSE else None)


def row_check(key: str, id_col: Any) -> sa.ColumnElement[bool]:
    """SQLite: the customer's stored search document contains `key` (read by rowid:
    several times cheaper than folding the row again through pl_search_doc)."""
    doc = search_fts.alias("search_doc")
    return sa.exists().where(doc.c.rowid == id_col, sa.func.instr(doc.c.doc, key) > 0)


def counts_matches(key: str) -> bool:
    """Whether the list counts the matches of a search for the folded `key`: not for
    one or two characters (no trigram: every row would be read)."""
    return len(key) >= MIN_INDEXED


def capped_count(conn: Connection, unordered: sa.Select[Any]) -> tuple[int, bool]:
    """(matches up to `COUNT_CAP`, whether there are more)."""
    query = sa.select(sa.func.count()).select_from(unordered.limit(COUNT_CAP + 1).subquery())
    found = int(conn.execute(query).scalar_one())
    return min(found, COUNT_CAP), found > COUNT_CAP
