"""executemany of plain tuples, for the import's big statements.

SQLAlchemy turns every row of an executemany into parameters one by one
(a dict per row, each value through its type's bind processor); for the
100,000 customers of a large import, and their tag, location and channel
links, that cost more than SQLite's own inserts (about 4 s of a 17 s apply).
On SQLite, `executemany` compiles the statement once and hands the driver
tuples, each value through the same bind processor SQLAlchemy would use, so
what is stored is what `conn.execute(stmt, rows)` stores. Elsewhere, and for
a statement with a column default computed in Python, it is `conn.execute`.
PostgreSQL has `copy_rows`, `insert_ignore_arrays` and `update_arrays` (below).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable


def executemany(
    conn: Connection, stmt: Executable, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Run `stmt` once per row; `rows` hold values in the order of `keys`, the
    statement's bind names (column keys for an insert)."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(stmt, [dict(zip(keys, row, strict=True)) for row in rows])
        return
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    if compiled.insert_prefetch or compiled.update_prefetch or "POSTCOMPILE" in compiled.string:
        # A column default computed in Python for each row, or an expanding IN:
        # SQLAlchemy's own work.
        conn.execute(stmt, [dict(zip(keys, row, strict=True)) for row in rows])
        return
    names: list[str] = list(compiled.positiontup or ())
    # A literal of the statement (`name == ""`) is a bind of its own, with its value.
    literals = {name: compiled.binds[name].effective_value for name in names if name not in keys}
    if any(compiled.binds[name].required for name in literals):
        raise ValueError(f"no values for {sorted(literals)}")
    every = [*keys, *literals]
    extra = tuple(literals.values())
    order = [every.index(name) for name in names]
    processors: list[tuple[int, Callable[[Any], Any]]] = []
    for position, name in enumerate(names):
        type_ = compiled.binds[name].type
        process = type_.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:
            processors.append((position, process))
    pick = itemgetter(*order)
    # The last value each processor saw and what it made of it: a column's value is
    # often the same object row after row (the import's time, a repeated birthday).
    last: list[tuple[Any, Any]] = [(_NOTHING, None)] * len(processors)
    params: list[Any] = []
    for row in rows:
        if extra:
            row = (*row, *extra)
        values = pick(row) if len(order) > 1 else (row[order[0]],)
        if processors:
            changed = list(values)
            for slot, (position, process) in enumerate(processors):
                value = changed[position]
                seen, made = last[slot]
                if value is not seen:
                    made = process(value)
                    last[slot] = (value, made)
                changed[position] = made
            values = tuple(changed)
        params.append(values)
    conn.exec_driver_sql(compiled.string, params)


_NOTHING = object()


def insert_ignore_json(
    conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """SQLite: INSERT ... ON CONFLICT DO NOTHING of every row in one statement, the
    rows one JSON array parameter (ints and strings only: stored as bound values
    would be). An import's 400,000 link rows through `executemany` cost ~0.5 s of
    Python binding them one by one."""
    if not rows:
        return
    picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(keys)))
    sql = (
        f"INSERT INTO {table.name} ({', '.join(keys)}) "  # noqa: S608 (names only)
        # WHERE true: SQLite's parser needs it before an upsert's ON CONFLICT
        f"SELECT {picks} FROM json_each(?) WHERE true ON CONFLICT DO NOTHING"
    )
    conn.exec_driver_sql(sql, (json.dumps(rows),))


# PostgreSQL: one statement (or one COPY) per batch instead of a statement per row.
# psycopg pipelines an executemany, yet each row stayed a statement of its own for
# the server to run (100,000 customers and their 300,000 links: ~2 minutes).


def _array_type(conn: Connection, table: Table, key: str) -> str:
    return f"{table.c[key].type.compile(dialect=conn.dialect)}[]"


def copy_rows(
    conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """PostgreSQL: `rows` (values in the order of `keys`) into `table` with one COPY,
    in the connection's transaction."""
    driver = conn.connection.driver_connection
    assert driver is not None
    columns = ", ".join(keys)
    with driver.cursor() as cursor:  # type: ignore[attr-defined]
        with cursor.copy(f"COPY {table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def insert_ignore_arrays(
    conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """PostgreSQL: INSERT ... ON CONFLICT DO NOTHING of every row in one statement
    (a column of values per key, unnested)."""
    if not rows:
        return
    arrays = ", ".join(f"%s::{_array_type(conn, table, key)}" for key in keys)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(keys)}) "  # noqa: S608 (names only)
        f"SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"
    )
    conn.exec_driver_sql(sql, tuple(list(column) for column in zip(*rows, strict=True)))


def update_arrays(
    conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """PostgreSQL: UPDATE `table` SET keys[1:] WHERE its keys[0] column (unique) matches,
    every row in one statement."""
    if not rows:
        return
    arrays = ", ".join(f"%s::{_array_type(conn, table, key)}" for key in keys)
    sets = ", ".join(f"{key} = v.{key}" for key in keys[1:])
    sql = (
        f"UPDATE {table.name} SET {sets} FROM unnest({arrays}) AS v({', '.join(keys)}) "  # noqa: S608
        f"WHERE {table.name}.{keys[0]} = v.{keys[0]}"
    )
    conn.exec_driver_sql(sql, tuple(list(column) for column in zip(*rows, strict=True)))
