"""Where a retention pass's transactions spend their time, statement by statement (#20).

    .venv/bin/python benchmarks/retention_profile.py --db sqlite:///built.db [--top N] [--json]

Runs one pass (admin/privacy/retention.py, the default windows) alone on a copy
of a SQLite database benchmarks/retention_data.py built (the copy is made next
to it and removed after). Printed: the pass's figures, the CPU used by each
kind of statement over the pass (COMMIT and the pauses' checkpoints apart), and
the N transactions that used the most CPU with their costliest statements
(wall and CPU ms; a pause's WAL checkpoint shows with the transaction after it,
outside its hold). CPU is the pass's thread (user + system), so it counts
what SQLite did for the statement, its triggers and cascades included, not
the time spent waiting for a core. A statement's sub-statements (an FTS5
merge's REPLACE INTO ..._data) show with ``--trace`` as a count per
transaction.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.db import make_engine
from porchlight.admin.privacy import batches, retention


class Recorder:
    """Each statement's (wall ms, CPU ms, text) and each transaction's, as the pass runs."""

    def __init__(self) -> None:
        self.current: list[tuple[float, float, str]] = []
        self.transactions: list[dict[str, Any]] = []
        self.substatements = 0

    def statement(self, wall: float, cpu: float, text: str) -> None:
        self.current.append((wall * 1000, cpu * 1000, " ".join(text.split())[:90]))

    def transaction(self, held_ms: float, rows: int, cpu_ms: float) -> None:
        self.transactions.append(
            {
                "held_ms": held_ms,
                "cpu_ms": cpu_ms,
                "rows": rows,
                "statements": self.current,
                "substatements": self.substatements,
            }
        )
        self.current, self.substatements = [], 0


def _instrument(engine: sa.Engine, rec: Recorder, trace: bool) -> None:
    @sa.event.listens_for(engine, "before_cursor_execute")
    def before(conn: Connection, *_args: Any) -> None:
        conn.info["profile_t0"] = (time.perf_counter(), time.thread_time())

    @sa.event.listens_for(engine, "after_cursor_execute")
    def after(conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        wall, cpu = conn.info.pop("profile_t0")
        rec.statement(time.perf_counter() - wall, time.thread_time() - cpu, statement)

    if trace:

        @sa.event.listens_for(engine, "connect")
        def connect(dbapi: sqlite3.Connection, _record: Any) -> None:
            def count(_sql: str) -> None:
                rec.substatements += 1

            dbapi.set_trace_callback(count)

    commit = Connection.commit

    def timed_commit(self: Connection) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        commit(self)
        rec.statement(time.perf_counter() - wall, time.thread_time() - cpu, "COMMIT")

    Connection.commit = timed_commit  # type: ignore[method-assign]
    record = batches.Pass.record

    def recorded(self: batches.Pass, held_ms: float, rows: int, cpu_ms: float) -> None:
        rec.transaction(held_ms, rows, cpu_ms)
        record(self, held_ms, rows, cpu_ms)

    batches.Pass.record = recorded  # type: ignore[method-assign]


def profile(db: Path, top: int, trace: bool) -> dict[str, Any]:
    copy = db.with_name(db.stem + ".profile" + db.suffix)
    for extra in ("", "-wal", "-shm"):
        Path(str(copy) + extra).unlink(missing_ok=True)
    shutil.copy(db, copy)
    engine = make_engine(f"sqlite:///{copy}")
    rec = Recorder()
    _instrument(engine, rec, trace)
    with engine.connect() as conn:
        tenant_id = conn.execute(sa.text("SELECT id FROM tenants WHERE slug = 'bench'")).scalar()
    started, cpu = time.perf_counter(), time.process_time()
    result = retention.run(engine, int(tenant_id or 1))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    for extra in ("", "-wal", "-shm"):
        Path(str(copy) + extra).unlink(missing_ok=True)
    by_kind: Counter[str] = Counter()
    for txn in rec.transactions:
        for _wall, stmt_cpu, text in txn["statements"]:
            by_kind[text[:40]] += stmt_cpu
    worst = sorted(rec.transactions, key=lambda t: -t["cpu_ms"])[:top]
    return {
        "pass": {k: result[k] for k in ("customers", "devices", "visits", "batches")}
        | {"longest_ms": result["longest_ms"], "longest_cpu_ms": result["longest_cpu_ms"]},
        "pass_seconds": round(seconds, 1),
        "pass_cpu_seconds": round(cpu, 1),
        "cpu_ms_by_statement": {k: round(v) for k, v in by_kind.most_common(10)},
        "costliest": [
            {
                "held_ms": round(t["held_ms"], 1),
                "cpu_ms": round(t["cpu_ms"], 1),
                "rows": t["rows"],
                "substatements": t["substatements"],
                "statements": [
                    (round(w, 1), round(c, 1), text)
                    for w, c, text in sorted(t["statements"], key=lambda s: -s[1])[:3]
                ],
            }
            for t in worst
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="sqlite:///path a retention_data.py build")
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--trace", action="store_true", help="count sub-statements")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    path = sa.engine.make_url(args.db).database
    if not path:
        raise SystemExit("--db must be a SQLite file")
    figures = profile(Path(path), args.top, args.trace)
    if args.json:
        print(json.dumps(figures))
        return 0
    for key in ("pass", "pass_seconds", "pass_cpu_seconds"):
        print(f"{key:18} {figures[key]}")
    print("CPU ms by statement (the pass's transactions):")
    for text, ms in figures["cpu_ms_by_statement"].items():
        print(f"  {ms:8}  {text}")
    for t in figures["costliest"]:
        print(
            f"held {t['held_ms']} ms, CPU {t['cpu_ms']} ms, {t['rows']} rows,"
            f" {t['substatements']} sub-statements"
        )
        for wall, cpu_ms, text in t["statements"]:
            print(f"  {wall:8} {cpu_ms:8}  {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
