"""Outbox drain: N queued events from a real agent store to the real admin (gunicorn).

    .venv/bin/python benchmarks/sync_drain.py [--sessions 16667] [--workers 2] [--pg URL]

Fills an agent store's outbox (3 events per guest session), starts the admin
under gunicorn on loopback, drains with `SyncWorker.push_events` and prints
the time, events/s and the row counts on both sides.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "admin" / "sync"))

from synckit import (  # noqa: E402
    Gunicorn,
    fill_outbox,
    free_port,
    guest_events,
    make_venue,
    write_enrollment,
)

from porchlight.admin import migrate  # noqa: E402
from porchlight.admin.db import make_engine  # noqa: E402
from porchlight.agent.store import db_path, open_db, outbox_depth  # noqa: E402
from porchlight.agent.sync import SyncWorker  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=16_667)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", help="a PostgreSQL URL with CREATEDB (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pg_name = None
        if args.pg:
            pg_name = f"porchlight_drain_{secrets.token_hex(4)}"
            server = sa.create_engine(
                sa.engine.make_url(args.pg).set(database="postgres"), isolation_level="AUTOCOMMIT"
            )
            with server.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{pg_name}"')
            url = sa.engine.make_url(args.pg).set(database=pg_name)
            db_url = url.render_as_string(hide_password=False)
        else:
            db_url = f"sqlite:///{tmp}/admin.db"
        engine = make_engine(db_url)
        migrate.upgrade(engine)
        venue = make_venue(engine)
        port = free_port()
        state = Path(tmp) / "router"
        write_enrollment(state, f"http://127.0.0.1:{port}", venue.token)
        store = open_db(db_path(state))
        t0 = time.perf_counter()
        fill_outbox(store, guest_events(args.sessions, customers=max(1, args.sessions // 3)))
        queued = outbox_depth(store)
        print(f"queued {queued} events in {time.perf_counter() - t0:.1f} s")
        admin = Gunicorn(db_url, port, Path(tmp) / "gunicorn.log", workers=args.workers)
        admin.start()
        try:
            worker = SyncWorker(str(db_path(state)), str(state), events_only=True)
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            sent = worker.push_events()
            elapsed = time.perf_counter() - t0
            agent_cpu = time.process_time() - cpu0
        finally:
            admin.stop()
        with engine.connect() as conn:
            ledger = conn.execute(sa.text("SELECT count(*) FROM sync_events")).scalar()
            visits = conn.execute(sa.text("SELECT count(*) FROM visits")).scalar()
        engine.dispose()
        print(
            f"{engine.dialect.name}, gunicorn {args.workers} workers: drained {sent} events in "
            f"{elapsed:.1f} s = {sent / elapsed:,.0f} events/s (agent CPU {agent_cpu:.1f} s)"
        )
        print(
            f"agent outbox left: {outbox_depth(store)}; admin ledger: {ledger}; "
            f"visits: {visits} (sessions: {args.sessions})"
        )
        if pg_name:
            with server.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            server.dispose()


if __name__ == "__main__":
    main()
