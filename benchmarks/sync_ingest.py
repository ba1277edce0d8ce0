"""Admin ingest throughput: events/s applied by `ingest_batch`, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/sync_ingest.py [--sessions 10000] [--pg URL]

Each guest session is three events (login, session_start, session_end);
phones come from a pool so most logins are returning customers, as at a
venue. Batches of 500 (the API's maximum), each in its own transaction, as
the /api/v1/events endpoint does it (no HTTP here: see sync_drain.py).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "admin" / "sync"))

from synckit import guest_events, make_venue  # noqa: E402

from porchlight.admin import migrate  # noqa: E402
from porchlight.admin.db import make_engine  # noqa: E402
from porchlight.admin.sync.enrollment import RouterIdentity  # noqa: E402
from porchlight.admin.sync.ingest import ingest_batch, write_transaction  # noqa: E402
from porchlight.events import validate_event  # noqa: E402


def run(url: str, sessions: int, customers: int) -> float:
    engine = make_engine(url)
    migrate.upgrade(engine)
    venue = make_venue(engine)
    router = RouterIdentity(venue.router_id, venue.tenant_id, venue.location_id, "bench")
    events = [validate_event(e) for e in guest_events(sessions, customers=customers)]
    start, cpu0 = time.perf_counter(), time.process_time()
    for i in range(0, len(events), 500):
        with write_transaction(engine, venue.tenant_id) as conn:
            ingest_batch(conn, router, events[i : i + 500])
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    with engine.connect() as conn:
        visits = conn.execute(sa.text("SELECT count(*) FROM visits")).scalar()
    engine.dispose()
    rate = len(events) / elapsed
    name = engine.dialect.name
    print(f"{name:>10}: {len(events)} events in {elapsed:.2f} s = {rate:,.0f} events/s")
    print(
        f"{'':>10}  this process's CPU: {cpu:.2f} s = {len(events) / cpu:,.0f} events/CPU-second"
        f" ({visits} visits, {customers} phone pool; load average {os.getloadavg()[0]:.1f})"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument("--pg", default=os.environ.get("PORCHLIGHT_TEST_PG_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args.sessions, args.customers)
    if args.pg:
        name = f"porchlight_bench_{secrets.token_hex(4)}"
        admin = sa.create_engine(
            sa.engine.make_url(args.pg).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = sa.engine.make_url(args.pg).set(database=name)
            run(url.render_as_string(hide_password=False), args.sessions, args.customers)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
