"""The lease a worker holds on the job it runs, renewed by a thread while the job runs.

`claim()` (admin/io/jobs.py) gives the job to one worker (``host:pid:random``)
with ``lease_expires_at`` = now + the lease. `LeaseKeeper` renews it every
third of the lease; if the worker dies (SIGKILL, out of memory, the machine
gone) nothing renews it and the job counts as lost within one lease (30 s by
default, ``PORCHLIGHT_ADMIN_JOB_LEASE_SECONDS``): its page says the worker
stopped and offers a retry.

On SQLite an import's apply holds the database's write lock for its whole
transaction; renewals wait for it (and retry), which is why a lost lease is
only acted upon by a writer (`recover_stale`, `retry`), which waits too.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from datetime import timedelta
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from porchlight.admin import schema
from porchlight.admin.db import utcnow

log = logging.getLogger(__name__)


def worker_name() -> str:
    """This worker process: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def renew(engine: Engine, job_id: int, worker: str, lease: timedelta) -> bool:
    """Extend the lease if this worker still holds the running job; True if it does."""
    j = schema.jobs
    with engine.begin() as conn:
        done = conn.execute(
            j.update()
            .where(j.c.id == job_id, j.c.worker == worker, j.c.status == "running")
            .values(lease_expires_at=utcnow() + lease)
        ).rowcount
    return bool(done)


class LeaseKeeper:
    """``with LeaseKeeper(engine, job_id, worker, lease):`` renews while the body runs."""

    def __init__(self, engine: Engine, job_id: int, worker: str, lease: timedelta) -> None:
        self.engine = engine
        self.job_id = job_id
        self.worker = worker
        self.lease = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def _run(self) -> None:
        every = max(0.2, self.lease.total_seconds() / 3)
        while not self._stop.wait(every):
            try:
                if not renew(self.engine, self.job_id, self.worker, self.lease):
                    log.warning("job %s: lease no longer held by this worker", self.job_id)
                    return
            except sa.exc.DBAPIError as exc:  # locked (SQLite apply) or unreachable: again
                log.debug("job %s: lease not renewed yet (%s)", self.job_id, exc.orig)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
