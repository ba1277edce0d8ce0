"""executemany of plain tuples, for the import's big statements.

SQLAlchemy turns every row of an executemany into parameters one by one
(a dict per row, each value through its type's bind processor); for the
100,000 customers of a large import, and their tag, location and channel
links, that cost more than SQLite's own inserts (about 4 s of a 17 s apply).
On SQLite, `executemany` compiles the statement once and hands the driver
tuples, each value through the same bind processor SQLAlchemy would use, so
what is stored is what `conn.execute(stmt, rows)` stores. Elsewhere, and for
a statement with a column default computed in Python, it is `conn.execute`
(PostgreSQL's insertmanyvalues is fast already).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

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
