"""How the customer list searches and counts at a million customers (issue 17).

A search's cost depends on how many customers match. ``nguyen`` matches four
in ten: sorting all of them to show the first 50 takes a second, while
walking the list's sort index and checking each customer finds a page in a
hundred rows. A rare name is the other way round: the search index gives its
few matches at once, and walking would read the whole table to find none.

On SQLite, `sqlite_hits` asks the FTS5 trigram table (every tenant's
documents) for at most `DENSE` matches: fewer, and the list page uses those
ids (one index scan, no second one for the page); that many, and the page
walks its sort index with a per-row check instead. On PostgreSQL, `pg_hits`
asks the planner how many rows it expects (its statistics on the stored
``search_doc``, migration 0014): fewer than `PG_DENSE`, and the page hides the
sort index so the trigram index drives (left to itself, the planner walked
52,000 rows to list ``8509``'s 877: 260 ms).

Counting a match is cheap; counting 400,000 of them is not, and nobody reads
the exact number: `capped_count` stops at `COUNT_CAP` (the list shows
"More than 1,000": 10,000 cost 155 ms for ``le van`` on PostgreSQL).
SQLite streams its FTS matches into the LIMIT; PostgreSQL's planner picks
the trigram bitmap (a row-by-row count was no faster: parallel workers start
slowly on a busy box). One or two characters have no trigram to look up: the
page walks its sort index, and `counts_matches` says the list does not count
them (every row would be read).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# FTS matches (every tenant's) from which the page walks its sort index. Both ways cost
# about 4 us a row at a million customers: the ids way reads every match (plus the probe
# that collects them: 40 ms CPU for 10,000 matches of "tran thi", a phrase of common
# trigrams), the walk reads 50 / density rows to fill a page. They meet near 5,000-7,000;
# at 10,000 the worst search (two words, 9,000 matches) took 61 ms CPU, at 5,000 41 ms.
DENSE = 5_000
PG_DENSE = 10_000  # PostgreSQL: the planner's estimate from which the sort index is walked
COUNT_CAP = 1_000  # the list counts matches up to this many, then says "more than"
MIN_INDEXED = 3  # trigram: shorter text is checked row by row

search_fts = sa.table(
    "customers_search_fts", sa.column("customers_search_fts"), sa.column("rowid"), sa.column("doc")
)


@dataclass(frozen=True)
class SearchHits:
    """A text search resolved before the list page's query.

    `dense`: many match (the page walks its sort index, checking each row);
    else the search index drives. `ids` (SQLite, not dense): every matching
    customer id of every tenant, fewer than `DENSE`."""

    dense: bool
    ids: tuple[int, ...] | None = None

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
    if len(ids) >= DENSE:
        return SearchHits(dense=True)
    return SearchHits(dense=False, ids=tuple(ids))


def like_pattern(key: str) -> str:
    """``%key%`` for LIKE ... ESCAPE '\\' (its own % and _ taken literally)."""
    return "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def pg_hits(conn: Connection, key: str) -> SearchHits:
    """Dense or not, by the planner's estimate of the rows whose document holds `key`."""
    plan = conn.execute(
        sa.text(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM customers WHERE search_doc LIKE :p ESCAPE '\\'"
        ),
        {"p": like_pattern(key)},
    ).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return SearchHits(dense=float(plan[0]["Plan"]["Plan Rows"]) >= PG_DENSE)


def search_doc_column() -> sa.ColumnElement[str]:
    """PostgreSQL: ``customers.search_doc``, pl_search_doc stored by migration 0014 (not
    in schema.py: SQLite keeps the document in its FTS table)."""
    return sa.literal_column("customers.search_doc", sa.Text)


# FTS5's own copy of each document (its ``%_content`` shadow table, columns id, c0: the
# format sqlite.org/fts5.html documents): a plain b-tree read by id, 0.6 us a row against
# 1.8 us through the virtual table (tests/admin/customers/test_search_at_scale.py)
search_content = sa.table("customers_search_fts_content", sa.column("id"), sa.column("c0"))


def row_check(key: str, id_col: Any) -> sa.ColumnElement[bool]:
    """SQLite: the customer's stored search document contains `key` (read by rowid:
    several times cheaper than folding the row again through pl_search_doc)."""
    doc = search_content.alias("search_doc")
    return sa.exists().where(doc.c.id == id_col, sa.func.instr(doc.c.c0, key) > 0)


def counts_matches(key: str) -> bool:
    """Whether the list counts the matches of a search for the folded `key`: not for
    one or two characters (no trigram: every row would be read)."""
    return len(key) >= MIN_INDEXED


def capped_count(conn: Connection, unordered: sa.Select[Any]) -> tuple[int, bool]:
    """(matches up to `COUNT_CAP`, whether there are more)."""
    query = sa.select(sa.func.count()).select_from(unordered.limit(COUNT_CAP + 1).subquery())
    found = int(conn.execute(query).scalar_one())
    return min(found, COUNT_CAP), found > COUNT_CAP
