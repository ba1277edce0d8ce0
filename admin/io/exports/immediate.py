"""Small exports download at once; larger ones go through Downloads as a job.

`export_now` writes the export in the request when its own query (the same
scope, filters, location scope and marketing purpose the job would use)
holds at most `IMMEDIATE_MAX_ROWS` rows and the writing ends within
`IMMEDIATE_SECONDS`; otherwise it returns None, keeps nothing, and the
caller queues the job. A file written at once is recorded as a done export
job (listed on Downloads, expires like the others) and audited as the
worker's is — the export with its filters, and its download — in one
transaction with the selection it cleared.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from porchlight.admin.audit import audit
from porchlight.admin.customers.selection import clear as clear_selection
from porchlight.admin.db import utcnow
from porchlight.admin.io import jobs
from porchlight.admin.io.exports import limits
from porchlight.admin.io.exports.job import export_dir, write_customers
from porchlight.admin.io.exports.local_time import file_stem, named_zone, tenant_local_zone

log = logging.getLogger(__name__)

IMMEDIATE_MAX_ROWS = 5_000  # more rows: a background job, listed on Downloads
IMMEDIATE_SECONDS = 20.0  # an immediate export taking longer becomes a job too


@dataclass(frozen=True)
class ImmediateFile:
    job_id: int
    path: Path
    file_name: str
    rows: int


def export_now(
    engine: Engine, *, tenant_id: int, user_id: int, params: dict[str, Any], data_dir: str | Path
) -> ImmediateFile | None:
    """Write the export described by job `params` now, or None when it is too big or slow."""
    deadline = time.monotonic() + IMMEDIATE_SECONDS
    with engine.connect() as conn:
        zone = named_zone(params.get("zone"), tenant_local_zone(conn, tenant_id))
    stem = file_stem(utcnow(), zone)
    try:
        result = write_customers(
            engine,
            tenant_id=tenant_id,
            scope=params["scope"],
            fmt=params["format"],
            out_dir=export_dir(data_dir, tenant_id),
            base_name=stem,
            disk_name=f"{stem}-now-{uuid.uuid4().hex[:10]}",
            zone=zone,
            lang=params["lang"],
            filters_qs=params["filters"],
            ids=params["ids"],
            location_scope=params["location_scope"],
            purpose=params["purpose"],
            max_rows=IMMEDIATE_MAX_ROWS,
            deadline=deadline,
        )
    except limits.TooManyRows as big:
        log.info("export of at least %s rows for tenant %s: queued", big.at_least, tenant_id)
        return None
    except limits.TooSlow:
        log.warning("export for tenant %s took over %ss: queued", tenant_id, IMMEDIATE_SECONDS)
        return None
    path = Path(result["path"])
    try:
        job_id = _record(engine, tenant_id, user_id, params, result)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ImmediateFile(job_id, path, str(result["file_name"]), int(result["rows"]))


def _record(
    engine: Engine, tenant_id: int, user_id: int, params: dict[str, Any], result: dict[str, Any]
) -> int:
    """The done job, the audit rows and the cleared selection, in one transaction."""
    details = {**result["audit"], "delivery": "immediate"}
    with engine.begin() as conn:
        job_id = jobs.record_done(
            conn,
            tenant_id=tenant_id,
            kind="export",
            params={**params, "delivery": "immediate"},
            created_by=user_id,
            result={k: result[k] for k in ("rows", "files", "file_name")},
            file_path=str(result["path"]),
            expires_at=utcnow() + jobs.EXPORT_TTL,
            progress=int(result["rows"]),
        )
        audit(conn, "customers.export", "job", job_id, {**details, "job": job_id})
        audit(conn, "customers.export_download", "job", job_id, {"rows": result["rows"]})
        if params["scope"] == "selected":
            clear_selection(conn, user_id)
    return job_id
