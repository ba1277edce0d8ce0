"""The jobs table and the worker: claim once, heartbeat, stale recovery, expiry, end states."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from builders import KIOTVIET_HEADERS, kiotviet_row, write_xlsx

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io import jobs, worker


def job_row(engine, job_id: int):
    with engine.connect() as conn:
        return conn.execute(sa.select(schema.jobs).where(schema.jobs.c.id == job_id)).one()


def enqueue(engine, world, kind="export", params=None, file_path=None) -> int:
    with engine.begin() as conn:
        return jobs.enqueue(
            conn,
            tenant_id=world.tenant_id,
            kind=kind,
            params=params or {"scope": "all", "format": "csv"},
            created_by=world.users["owner"]["id"],
            file_path=file_path,
        )


@pytest.mark.both_dbs
def test_each_job_is_claimed_by_exactly_one_worker(engine, world):
    ids = [enqueue(engine, world) for _ in range(12)]
    claimed: list[int] = []
    lock = threading.Lock()

    def claimer():
        while (job := jobs.claim(engine)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == ids
    assert {job_row(engine, i).status for i in ids} == {"running"}


def test_heartbeat_finish_and_fail(engine, world, tmp_path):
    job_id = enqueue(engine, world)
    job = jobs.claim(engine)
    assert job is not None and job.id == job_id and job.params["format"] == "csv"
    jobs.heartbeat(engine, job_id, 50, 200)
    assert (job_row(engine, job_id).progress, job_row(engine, job_id).total) == (50, 200)
    jobs.finish(engine, job_id, {"rows": 200}, file_path="/x.csv", expires_at=utcnow())
    row = job_row(engine, job_id)
    assert (row.status, row.result, row.file_path) == ("done", {"rows": 200}, "/x.csv")

    upload = tmp_path / "up.csv"
    upload.write_text("x")
    other = enqueue(engine, world, "import", {"location_id": world.q1}, str(upload))
    jobs.claim(engine)
    jobs.fail(engine, other, "bad file", {"file_error": {"code": "corrupt"}}, file_path=str(upload))
    row = job_row(engine, other)
    assert (row.status, row.error, row.file_path) == ("failed", "bad file", None)
    assert not upload.exists()  # the upload is gone once the job ends


def test_a_job_whose_lease_ran_out_is_failed_kept_and_retryable(engine, world, tmp_path):
    upload = tmp_path / "up.xlsx"
    upload.write_text("x")
    job_id = enqueue(engine, world, "import", {"location_id": world.q1}, str(upload))
    jobs.claim(engine, "host:1:abc")
    assert jobs.recover_stale(engine) == 0  # the lease holds
    with engine.begin() as conn:
        conn.execute(schema.jobs.update().values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert jobs.is_lost(job_row(engine, job_id))
    assert jobs.recover_stale(engine) == 1
    row = job_row(engine, job_id)
    assert (row.status, row.result["file_error"]["code"]) == ("failed", "worker_lost")
    assert upload.exists()  # kept for the retry
    assert jobs.retry(engine, job_id)
    row = job_row(engine, job_id)
    assert (row.status, row.file_path, row.attempts) == ("queued", str(upload), 1)
    assert not jobs.retry(engine, job_id)  # queued: nothing to retry
    again = jobs.claim(engine, "host:2:def")
    assert again is not None and again.id == job_id
    assert job_row(engine, job_id).attempts == 2


def test_a_sqlite_apply_holding_the_write_lock_is_not_called_lost(engine, world):
    """An import's apply holds SQLite's write lock (its worker cannot renew the lease
    meanwhile): while someone holds it the job is not lost; a dead worker holds none."""
    job_id = enqueue(engine, world, "import", {"location_id": world.q1})
    jobs.claim(engine, "host:1:abc")
    with engine.begin() as conn:
        conn.execute(schema.jobs.update().values(lease_expires_at=utcnow() - timedelta(seconds=1)))
    with engine.connect() as raw:
        writer = raw.execution_options(isolation_level="AUTOCOMMIT")
        writer.exec_driver_sql("BEGIN IMMEDIATE")  # the apply's transaction
        assert not jobs.is_lost(job_row(engine, job_id), engine=engine)
        writer.exec_driver_sql("ROLLBACK")
    assert jobs.is_lost(job_row(engine, job_id), engine=engine)


def test_expired_files_are_deleted(engine, world, tmp_path):
    old, fresh = tmp_path / "old.zip", tmp_path / "fresh.zip"
    for path in (old, fresh):
        path.write_text("x")
    a, b = enqueue(engine, world), enqueue(engine, world)
    for job_id, path, when in ((a, old, -1), (b, fresh, 1)):
        jobs.claim(engine)
        jobs.finish(
            engine, job_id, {}, file_path=str(path), expires_at=utcnow() + timedelta(hours=when)
        )
    assert jobs.cleanup_expired(engine) == 1
    assert not old.exists() and fresh.exists()
    assert job_row(engine, a).file_path is None and job_row(engine, b).file_path == str(fresh)


@pytest.mark.both_dbs
def test_worker_runs_an_import_dry_run_apply_and_an_export(engine, world, tmp_path):
    upload = write_xlsx(
        tmp_path / "up.xlsx",
        [KIOTVIET_HEADERS, kiotviet_row("K1", "An", "0912345678"), kiotviet_row("K2", "B", "x")],
    )
    dry = enqueue(
        engine, world, "import", {"mode": "dry_run", "location_id": world.q1}, str(upload)
    )
    assert worker.run_pending(engine, tmp_path / "data") == 1
    row = job_row(engine, dry)
    assert (row.status, row.result["add"], row.result["skip"], row.progress) == ("done", 1, 1, 2)
    assert upload.exists() and row.expires_at > utcnow()  # kept for confirm

    apply = enqueue(
        engine, world, "import", {"mode": "apply", "location_id": world.q1}, str(upload)
    )
    export = enqueue(engine, world, "export", {"scope": "all", "format": "xlsx", "lang": "en"})
    assert worker.run_pending(engine, tmp_path / "data") == 2
    assert job_row(engine, apply).status == "done" and not upload.exists()
    done = job_row(engine, export)
    assert (done.status, done.result["rows"], done.progress) == ("done", 1, 1)
    assert Path(done.file_path).is_file() and done.expires_at > utcnow() + timedelta(hours=23)


def test_a_crashing_job_fails_alone_and_the_worker_goes_on(engine, world, tmp_path, monkeypatch):
    from porchlight.admin.io.exports import job as export_job

    calls = []

    def crash(engine, job, data_dir):
        calls.append(job.id)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(engine, job, data_dir)

    real = export_job.run_export_job
    monkeypatch.setattr(export_job, "run_export_job", crash)
    first, second = enqueue(engine, world), enqueue(engine, world)
    assert worker.run_pending(engine, tmp_path) == 2
    assert job_row(engine, first).status == "failed"
    assert job_row(engine, first).result == {"file_error": {"code": "internal"}}
    assert job_row(engine, second).status == "done"


def test_bad_upload_fails_the_job_with_a_code(engine, world, tmp_path):
    pdf = tmp_path / "x.xlsx"
    pdf.write_bytes(b"%PDF-1.4 not a sheet")
    job_id = enqueue(
        engine, world, "import", {"mode": "dry_run", "location_id": world.q1}, str(pdf)
    )
    worker.run_pending(engine, tmp_path)
    row = job_row(engine, job_id)
    assert (row.status, row.result) == ("failed", {"file_error": {"code": "not_spreadsheet"}})
    assert not pdf.exists()


def test_serve_runs_queued_jobs_and_stops_when_asked(engine, world, tmp_path):
    import time

    job_id = enqueue(engine, world)
    stop = threading.Event()
    thread = threading.Thread(target=worker.serve, args=(engine, tmp_path, stop))
    thread.start()
    deadline = time.monotonic() + 30
    while job_row(engine, job_id).status != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert job_row(engine, job_id).status == "done"


def test_serve_survives_a_locked_database(engine, world, tmp_path, monkeypatch):
    import time

    real_claim = jobs.claim
    failures = []

    def flaky_claim(engine, *lease):
        if not failures:
            failures.append(1)
            raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        return real_claim(engine, *lease)

    monkeypatch.setattr(jobs, "claim", flaky_claim)
    monkeypatch.setattr(worker, "RETRY_SECONDS", 0.05)
    job_id = enqueue(engine, world)
    stop = threading.Event()
    thread = threading.Thread(target=worker.serve, args=(engine, tmp_path, stop))
    thread.start()
    deadline = time.monotonic() + 30
    while job_row(engine, job_id).status != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert failures == [1] and job_row(engine, job_id).status == "done"
