"""`porchlight admin worker [--once]`: runs queued imports, exports and retention passes.

Several workers may run side by side (each job is claimed by exactly one).
Every pass also fails jobs whose worker died and deletes expired files.
SIGTERM lets the current job finish, then the worker exits.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from porchlight.admin.io import jobs, leases

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
HOUSEKEEPING_SECONDS = 60.0
RETRY_SECONDS = 5.0


def run_job(engine: Engine, job: jobs.Job, data_dir: str | Path) -> None:
    """Run one claimed job to done or failed; never raises for the job's own errors."""
    from porchlight.admin.io.exports.job import run_export_job
    from porchlight.admin.io.imports.job import run_import_job
    from porchlight.admin.privacy.schedule import run_retention_job

    log.info("job %s (%s) for tenant %s started", job.id, job.kind, job.tenant_id)
    try:
        if job.kind == "import":
            run_import_job(engine, job)
        elif job.kind == "export":
            run_export_job(engine, job, data_dir)
        elif job.kind == "retention":
            run_retention_job(engine, job)
        else:
            jobs.fail(engine, job.id, f"unknown job kind {job.kind}")
    except Exception:  # noqa: BLE001 - one bad job must not stop the worker
        log.exception("job %s (%s) failed", job.id, job.kind)
        jobs.fail(
            engine,
            job.id,
            "internal error",
            {"file_error": {"code": "internal"}},
            file_path=job.file_path if job.kind == "import" else None,
        )
        return
    log.info("job %s (%s) ended", job.id, job.kind)


def housekeeping(engine: Engine) -> None:
    from porchlight.admin.privacy import search_merges
    from porchlight.admin.privacy.schedule import schedule_due

    jobs.recover_stale(engine)
    search_merges.settle(engine)  # after a worker killed mid-import or mid-pass
    jobs.cleanup_expired(engine)
    schedule_due(engine)  # retention passes of tenants that turned it on


def run_pending(
    engine: Engine,
    data_dir: str | Path,
    stop: threading.Event | None = None,
    lease: timedelta = jobs.LEASE,
) -> int:
    """Run queued jobs until none is left, each under a renewed lease; returns how many ran."""
    done = 0
    worker = leases.worker_name()
    while stop is None or not stop.is_set():
        job = jobs.claim(engine, worker, lease)
        if job is None:
            break
        with leases.LeaseKeeper(engine, job.id, worker, lease):
            run_job(engine, job, data_dir)
        done += 1
    return done


def serve(
    engine: Engine, data_dir: str | Path, stop: threading.Event, lease: timedelta = jobs.LEASE
) -> None:
    next_housekeeping = 0.0
    while not stop.is_set():
        try:
            now = time.monotonic()
            if now >= next_housekeeping:
                housekeeping(engine)
                next_housekeeping = now + HOUSEKEEPING_SECONDS
            if run_pending(engine, data_dir, stop, lease) == 0:
                stop.wait(POLL_SECONDS)
        except sa.exc.DBAPIError as exc:  # database locked, restarting, unreachable
            log.warning("database unavailable (%s); retrying in %ss", exc.orig, RETRY_SECONDS)
            stop.wait(RETRY_SECONDS)


def _cmd_worker(args: argparse.Namespace) -> int:
    from porchlight.admin.config import AdminConfig
    from porchlight.admin.db import engine_from_env

    engine = engine_from_env()
    settings = AdminConfig.from_env(require_secret=False)
    data_dir = settings.DATA_DIR
    lease = timedelta(seconds=max(1, settings.JOB_LEASE_SECONDS))
    if args.once:
        housekeeping(engine)
        count = run_pending(engine, data_dir, lease=lease)
        log.info("ran %d job(s)", count)
        return 0
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        log.info("signal %s: stopping after the current job", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("worker started (data in %s)", data_dir)
    serve(engine, data_dir, stop, lease)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("worker", help="run background jobs (imports, exports)")
    p.add_argument("--once", action="store_true", help="run the queued jobs, then exit")
    p.set_defaults(func=_cmd_worker)
