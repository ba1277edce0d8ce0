"""Admin ingest throughput: events/s applied by `ingest_batch`, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/sync_ingest.py [--sessions 10000] [--pg URL]

Each guest session is three events (login, session_start, session_end);
phones come from a pool so most logins are returning customers, as at a
venue. Batches of 500 (the API's maximum), each in its own transaction, as
the /api/v1/events endpoint does it (no HTTP here: see sync_drain.py).

Two figures per database: "ingest" times `ingest_batch` alone; "checked"
times what the endpoint does with a batch's body on top of it: the body's
JSON checks and parse (`porchlight.admin.sync.guard.parse_json`, where it
exists) and `validate_event` on every event, with the admin's clock.
"""

from __future__ import annotations

import argparse
import json
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
from porchlight.admin.db import make_engine, utcnow  # noqa: E402
from porchlight.admin.sync.enrollment import RouterIdentity  # noqa: E402
from porchlight.admin.sync.ingest import ingest_batch, write_transaction  # noqa: E402
from porchlight.events import validate_event  # noqa: E402

try:  # the body checks of the events endpoint (depth, size) where this version has them
    from porchlight.admin.sync.guard import parse_json  # noqa: E402
except ImportError:  # an older tree: plain json.loads
    parse_json = None


def _parse(raw: bytes) -> object:
    return json.loads(raw) if parse_json is None else parse_json(raw)


def _validate(event: dict, now: object) -> dict:
    try:
        return validate_event(event, now=now)  # type: ignore[call-arg]
    except TypeError:  # an older validate_event without the admin's clock
        return validate_event(event)


def run(url: str, sessions: int, customers: int, checked: bool) -> float:
    engine = make_engine(url)
    migrate.upgrade(engine)
    venue = make_venue(engine)
    router = RouterIdentity(venue.router_id, venue.tenant_id, venue.location_id, "bench")
    raw_events = guest_events(sessions, customers=customers)
    bodies = [
        json.dumps({"events": raw_events[i : i + 500]}).encode()
        for i in range(0, len(raw_events), 500)
    ]
    ready = [
        [validate_event(e) for e in raw_events[i : i + 500]] for i in range(0, len(raw_events), 500)
    ]
    start, cpu0 = time.perf_counter(), time.process_time()
    for body, batch in zip(bodies, ready, strict=True):
        if checked:
            now = utcnow()
            parsed = _parse(body)
            batch = [_validate(e, now) for e in parsed["events"]]  # type: ignore[index]
        with write_transaction(engine, venue.tenant_id) as conn:
            ingest_batch(conn, router, batch)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    with engine.connect() as conn:
        visits = conn.execute(sa.text("SELECT count(*) FROM visits")).scalar()
    engine.dispose()
    n = len(raw_events)
    rate = n / elapsed
    name = f"{engine.dialect.name} {'checked' if checked else 'ingest'}"
    print(f"{name:>18}: {n} events in {elapsed:.2f} s = {rate:,.0f} events/s")
    print(
        f"{'':>18}  this process's CPU: {cpu:.2f} s = {n / cpu:,.0f} events/CPU-second"
        f" ({visits} visits, {customers} phone pool; load average {os.getloadavg()[0]:.1f})"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument("--pg", default=os.environ.get("PORCHLIGHT_TEST_PG_URL"))
    args = parser.parse_args()
    for checked in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", args.sessions, args.customers, checked)
    if args.pg:
        name = f"porchlight_bench_{secrets.token_hex(4)}"
        admin = sa.create_engine(
            sa.engine.make_url(args.pg).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = sa.engine.make_url(args.pg).set(database=name)
            for checked in (False, True):
                run(
                    url.render_as_string(hide_password=False),
                    args.sessions,
                    args.customers,
                    checked,
                )
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
