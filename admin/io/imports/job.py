"""An import as a job: dry run first (counts and row errors), then apply on confirm.

Job params: ``mode`` (``dry_run`` | ``apply``), ``location_id``, ``group_id``,
``file_name`` (as uploaded), optional ``mapping`` (column index -> field, from
the mapping step), ``encoding`` (a CSV codec the user picked) and ``total``
(rows counted by the dry run, for the progress bar). The upload is the job's
``file_path``; it is kept after a dry run (for confirm) and deleted when an
apply ends, whether it worked or not.
"""

from __future__ import annotations

import gc
import itertools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from porchlight.admin import schema
from porchlight.admin.db import is_sqlite, utcnow
from porchlight.admin.io import jobs
from porchlight.admin.io.imports import layouts, merge
from porchlight.admin.io.imports.files import ImportFileError
from porchlight.admin.io.imports.reader import RowSource
from porchlight.admin.io.imports.records import clean_text
from porchlight.admin.io.imports.summary import Summary
from porchlight.admin.privacy import search_merges
from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

SAMPLE_ROWS = 3
PREPARSE_ROWS = 200_000  # ~100 MB of parsed rows at most


def location_region(engine: Engine, tenant_id: int, location_id: int) -> str:
    loc = schema.locations.c
    with engine.connect() as conn:
        country = conn.execute(
            sa.select(loc.country).where(loc.id == location_id, loc.tenant_id == tenant_id)
        ).scalar()
    if country is None:
        raise PorchlightError("no such location for this tenant")
    return str(country)


@contextmanager
def _cyclic_gc_off() -> Iterator[None]:
    """Python's cyclic garbage collector off for an import (as for an export). Its
    rows, cells and records are freed by reference counting; the collector's
    passes over the 100,000 records an apply holds, more and more of them as
    they pile up, cost ~0.4 s CPU of a 100,000-row apply (~5%)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@_cyclic_gc_off()
def import_file(
    engine: Engine,
    path: Path,
    *,
    tenant_id: int,
    location_id: int,
    group_id: int | None = None,
    dry_run: bool = True,
    mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    user_id: int | None = None,
    file_name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Check (and unless `dry_run`, write) one file. Raises `ImportFileError` for bad files."""
    region = location_region(engine, tenant_id, location_id)
    source = RowSource(path, encoding=encoding)
    try:
        base: dict[str, Any] = {
            "mode": "dry_run" if dry_run else "apply",
            "kind": source.kind,
            "encoding": source.encoding,
            "file_name": file_name or path.name,
        }
        found, header, header_row = layouts.detect(source.rows())
        if mapping:
            if not header_row:
                raise ImportFileError("no_header", "no header row")
            found = layouts.from_mapping(header_row, mapping)
        if found is None or not ({"phone", "email"} & set(found.columns.values())):
            if not header:
                raise ImportFileError("no_header", "no header row")
            return base | _needs_mapping(source, header, header_row)
        records = merge.iter_records(source, found, region)
        if dry_run:
            with engine.connect() as conn:
                summary = merge.dry_run(conn, records, tenant_id, found.name, progress)
        else:
            if is_sqlite(engine):
                # SQLite has one writer: parse first (up to a bound on memory), so
                # the write lock is held while writing (guest logins wait on it),
                # not while parsing.
                parsed = list(itertools.islice(records, PREPARSE_ROWS))
                if len(parsed) < PREPARSE_ROWS:
                    source.close()
                records = itertools.chain(parsed, records)
            with _search_merges_off(engine), jobs.write_transaction(engine) as conn:
                summary = merge.apply(
                    conn,
                    records,
                    tenant_id=tenant_id,
                    location_id=location_id,
                    group_id=group_id,
                    layout_name=found.name,
                    progress=None if is_sqlite(engine) else progress,
                )
                _audit(conn, tenant_id, user_id, location_id, group_id, base, summary)
        return base | {"columns": {str(k): v for k, v in found.columns.items()}} | summary.as_dict()
    finally:
        source.close()


@contextmanager
def _search_merges_off(engine: Engine) -> Iterator[None]:
    """SQLite: FTS5's automerge off while the import writes (`search_merges.quiet`).
    Merging the segments the import's search documents make, inside its
    transaction, cost ~1 s CPU of a 100,000-row apply; the writes that follow
    merge them, as after a retention pass."""
    if not is_sqlite(engine):
        yield
        return
    with engine.connect() as conn, search_merges.quiet(conn):
        yield


def _needs_mapping(source: RowSource, header: list[object], header_row: int) -> dict[str, Any]:
    sample: list[list[str]] = []
    for number, cells in source.rows():
        if number <= header_row or not any(clean_text(c) for c in cells):
            continue
        sample.append([clean_text(c)[:40] for c in cells[: len(header)]])
        if len(sample) >= SAMPLE_ROWS:
            break
    guesses: list[str] = []
    for index, head in enumerate(header):
        field = layouts.guess(head, [row[index] for row in sample if index < len(row)])
        guesses.append("" if field in guesses else field)
    return {
        "needs_mapping": True,
        "header_row": header_row,
        "headers": [clean_text(h)[:60] for h in header],
        "sample": sample,
        "guesses": guesses,
    }


def _audit(
    conn: Any,
    tenant_id: int,
    user_id: int | None,
    location_id: int,
    group_id: int | None,
    base: dict[str, Any],
    summary: Summary,
) -> None:
    conn.execute(
        schema.audit_log.insert().values(
            tenant_id=tenant_id,
            user_id=user_id,
            action="customers.import",
            target_type="location",
            target_id=str(location_id),
            details={
                "file": base["file_name"],
                "layout": summary.layout,
                "group_id": group_id,
                "added": summary.add,
                "merged": summary.merge,
                "merged_in_file": summary.in_file_merges,
                "skipped": summary.skip,
                "warnings": summary.warning_count,
            },
            at=utcnow(),
        )
    )


def run_import_job(engine: Engine, job: jobs.Job) -> None:
    """Run one queued import job to its end state (done or failed)."""
    params = job.params
    dry_run = params.get("mode", "dry_run") == "dry_run"
    path = Path(job.file_path or "")
    total = params.get("total")

    def beat(done: int) -> None:
        jobs.heartbeat(engine, job.id, done, total)

    try:
        if not job.file_path or not path.is_file():
            raise ImportFileError("empty_file", "the uploaded file is gone")
        result = import_file(
            engine,
            path,
            tenant_id=job.tenant_id,
            location_id=int(params["location_id"]),
            group_id=params.get("group_id"),
            dry_run=dry_run,
            mapping=params.get("mapping"),
            encoding=params.get("encoding"),
            user_id=job.created_by,
            file_name=params.get("file_name"),
            progress=beat,
        )
    except ImportFileError as exc:
        jobs.fail(engine, job.id, str(exc), {"file_error": {"code": exc.code}}, file_path=str(path))
        return
    except sa.exc.IntegrityError:
        log.warning("import job %s collided with concurrent writes", job.id, exc_info=True)
        jobs.fail(
            engine,
            job.id,
            "customers changed during the import",
            {"file_error": {"code": "changed_meanwhile"}},
            file_path=str(path),
        )
        return
    if dry_run:
        jobs.finish(
            engine,
            job.id,
            result,
            file_path=str(path),
            expires_at=utcnow() + jobs.UPLOAD_TTL,
            progress=int(result.get("rows", 0)),
        )
    else:
        path.unlink(missing_ok=True)
        jobs.finish(engine, job.id, result, progress=int(result.get("rows", 0)))
