"""Retention pass at scale: longest write transaction, and what logins and the list feel.

    .venv/bin/python benchmarks/retention.py [--customers N] [--visits N] [--db URL] [--json]

Seeds a tenant with `porchlight admin seed`'s loader (visits spread over the
last year) into a fresh SQLite file unless --db names a seeded database, then
runs one pass with the clock moved 18 months ahead (last visits are then
18-30 months old: those over 24 months are erased, about a tenth with the
seed's spread, and every older visit's MAC and bytes are cleared) while two
threads keep working: one ingests login batches of 20 (the sync API's write
transaction, 200 logins a second), one reads the customer list's first
page. Printed: rows done, the pass's time, its longest transaction (the
write lock held, BEGIN to COMMIT; the issue's ceiling is 100 ms), the longest
a login batch waited for the lock, the slowest login batch (wait + its own
work) and the slowest list page during the pass.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from porchlight.admin import migrate, schema
from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.customers.query import build_customer_query
from porchlight.admin.db import make_engine, utcnow
from porchlight.admin.privacy import retention
from porchlight.admin.seed import seed
from porchlight.admin.sync.enrollment import create_router, enroll
from porchlight.admin.sync.ingest import ingest_batch, write_transaction
from porchlight.events import new_event_id, validate_event


def _logins(n: int, start: int, at: str) -> list[dict[str, Any]]:
    return [
        validate_event(
            {
                "id": new_event_id(),
                "type": "login",
                "occurred_at": at,
                "mac": f"02:00:00:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}",
                "data": {"session_id": f"b{i}", "channel": "form", "phone": f"+8491{i:07d}"},
            }
        )
        for i in range(start, start + n)
    ]


def _traffic(
    engine: Any, tenant_id: int, router: Any, at: str, stop: threading.Event
) -> tuple[list[threading.Thread], dict[str, list[float]]]:
    """Two threads: login batches through the ingest's write transaction, and list pages."""
    waits: dict[str, list[float]] = {"login": [], "lock_wait": [], "list": []}

    def logins() -> None:
        n = 0
        while not stop.is_set():
            batch = _logins(20, n, at)
            n += 20
            started = time.perf_counter()
            with write_transaction(engine, tenant_id) as conn:
                waits["lock_wait"].append((time.perf_counter() - started) * 1000)
                ingest_batch(conn, router, batch)
            waits["login"].append((time.perf_counter() - started) * 1000)
            time.sleep(0.1)  # 200 logins a second: a busy chain's evening

    def lists() -> None:
        query = build_customer_query(CustomerFilters(), tenant_id, None, limit=50)
        while not stop.is_set():
            started = time.perf_counter()
            with engine.connect() as conn:
                conn.execute(query).all()
            waits["list"].append((time.perf_counter() - started) * 1000)
            time.sleep(0.02)

    return [threading.Thread(target=f, daemon=True) for f in (logins, lists)], waits


def _prepare(args: argparse.Namespace, url: str) -> tuple[Any, int, Any, int]:
    """(engine, tenant id, an enrolled router, customers before) of tenant 'bench'."""
    engine = make_engine(url)
    if not args.db:
        migrate.upgrade(engine)
        seed(engine, args.customers, args.visits, 5)
        with engine.begin() as conn:  # the seed writes no device data: give every visit some
            conn.execute(
                sa.update(schema.visits).values(
                    mac="02:00:00:00:00:01", bytes_in=1_000_000, bytes_out=100_000
                )
            )
    with engine.connect() as conn:
        t = schema.tenants
        tenant_id = conn.execute(sa.select(t.c.id).where(t.c.slug == "bench")).scalar_one()
        loc = conn.execute(
            sa.select(schema.locations.c.id).where(schema.locations.c.tenant_id == tenant_id)
        ).scalar()
        before = conn.execute(
            sa.select(sa.func.count()).where(schema.customers.c.tenant_id == tenant_id)
        ).scalar_one()
    with engine.begin() as conn:
        _router_id, code = create_router(conn, int(loc), "bench")
        router, _token = enroll(conn, code)
    return engine, tenant_id, router, before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--visits", type=int, default=500_000)
    parser.add_argument("--db", help="a database already seeded (tenant 'bench')")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    engine, tenant_id, router, before = _prepare(
        args, args.db or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    )
    # The guests who log in during the pass do so at the moved clock's "now".
    moved = utcnow() + timedelta(days=548)
    stop = threading.Event()
    at = moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    threads, waits = _traffic(engine, tenant_id, router, at, stop)
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    result = retention.run(engine, tenant_id, now=moved)
    seconds = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    figures = {
        "customers_before": before,
        "erased": result["customers"],
        "visits_pruned": result["visits"],
        "batches": result["batches"],
        "pass_seconds": round(seconds, 1),
        "longest_transaction_ms": result["longest_ms"],
        "p95_transaction_ms": result["p95_ms"],
        "longest_login_lock_wait_ms": round(max(waits["lock_wait"], default=0.0), 1),
        "slowest_login_batch_ms": round(max(waits["login"], default=0.0), 1),
        "slowest_list_page_ms": round(max(waits["list"], default=0.0), 1),
        "login_batches_during_pass": len(waits["login"]),
        "database": engine.dialect.name,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:28} {value}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
