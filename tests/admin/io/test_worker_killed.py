"""A worker killed with SIGKILL mid-import: its job is noticed within a minute and retried.

A real ``porchlight admin worker`` process (lease 2 s) claims the apply step
of a 20,000-row import and is killed while it writes. Nothing of the import
is stored (one transaction); the import's page says the worker stopped as
soon as the lease runs out and offers "Run it again", which queues the same
job with the same upload; a worker then imports every row.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.io.worker import run_pending

pytestmark = pytest.mark.slow
ROWS = 20_000


def _job(engine: sa.Engine, job_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(schema.jobs).where(schema.jobs.c.id == job_id)).one()


def _customers(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(schema.customers)).scalar())


@pytest.mark.both_dbs
def test_a_killed_workers_import_is_noticed_and_retried(
    app: Any, world: Any, owner_client: Any, csrf: Any, tmp_path: Any
) -> None:
    engine = app.extensions["porchlight.engine"]
    data_dir = app.config["DATA_DIR"]
    upload = tmp_path / "guests.csv"
    # under 500 KB: the test client keeps the upload in memory (no temporary file)
    lines = ["Name,Phone"] + [f"K{i},09{i:08d}" for i in range(ROWS)]
    upload.write_text("\n".join(lines), encoding="utf-8")
    with upload.open("rb") as fh:
        form = {"location_id": str(world.q1), "file": (fh, "guests.csv")}
        form["csrf_token"] = csrf(owner_client, "/imports/new")
        created = owner_client.post("/imports", data=form, content_type="multipart/form-data")
    assert created.status_code == 302
    dry_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    assert run_pending(engine, data_dir) == 1  # the dry run, here
    assert _job(engine, dry_id).status == "done"
    confirm = owner_client.post(
        f"/imports/{dry_id}/confirm", data={"csrf_token": csrf(owner_client, f"/imports/{dry_id}")}
    )
    apply_id = int(confirm.headers["Location"].rstrip("/").split("/")[-1])

    env = {
        **os.environ,
        "PORCHLIGHT_ADMIN_DATABASE_URL": app.config["DATABASE_URL"],
        "PORCHLIGHT_ADMIN_DATA_DIR": data_dir,
        "PORCHLIGHT_ADMIN_JOB_LEASE_SECONDS": "2",
    }
    code = "import sys; from porchlight.cli import main; sys.exit(main(sys.argv[1:]))"
    worker = subprocess.Popen(
        [sys.executable, "-c", code, "admin", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while _job(engine, apply_id).status == "queued" and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # into the writing
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    killed_at = time.monotonic()
    assert _job(engine, apply_id).status == "running"  # killed mid-import
    assert _customers(engine) == 0  # one transaction: nothing half-written

    page = ""
    while time.monotonic() - killed_at < 60:
        page = owner_client.get(f"/imports/{apply_id}").get_data(as_text=True)
        if 'id="worker-lost"' in page:
            break
        time.sleep(0.5)
    noticed = time.monotonic() - killed_at
    print(f"\nkilled worker's job noticed after {noticed:.1f} s (lease 2 s)")
    assert 'id="worker-lost"' in page and noticed < 60
    assert 'http-equiv="refresh"' not in page

    token = csrf(owner_client, f"/imports/{apply_id}")
    retried = owner_client.post(f"/imports/{apply_id}/retry", data={"csrf_token": token})
    assert retried.status_code == 302
    assert _job(engine, apply_id).status == "queued"
    assert run_pending(engine, data_dir) == 1
    job = _job(engine, apply_id)
    assert (job.status, job.attempts) == ("done", 2), job.error
    assert _customers(engine) == ROWS
    assert 'id="worker-lost"' not in owner_client.get(f"/imports/{apply_id}").get_data(as_text=True)
