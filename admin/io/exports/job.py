"""An export as a background job, and the same work for the CLI.

Job params: ``scope`` (selected | filtered | all), ``format`` (xlsx | csv),
``filters`` (the list's query string, already validated), ``ids`` (the
selected customer ids), ``location_scope`` (None: the whole tenant; else the
manager's location ids, fixed when the export was asked for) and ``lang``
(the requester's language for headers and labels); ``purpose`` "marketing"
keeps only customers with a current marketing consent; ``zone`` the time
zone of its file name and times (`zone_for`, fixed when asked). The file is
named after the time it was asked for, in that zone
(``customers-2026-12-06-1930.xlsx``); on disk the job id is appended.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io import jobs
from porchlight.admin.io.exports import limits, rows
from porchlight.admin.io.exports.columns import RowMaker
from porchlight.admin.io.exports.local_time import (
    export_zone,
    file_stem,
    named_zone,
)
from porchlight.admin.io.exports.names import filter_names
from porchlight.admin.io.exports.writers import write_export

log = logging.getLogger(__name__)


def export_dir(data_dir: str | Path, tenant_id: int) -> Path:
    return Path(data_dir) / "exports" / str(tenant_id)


# SQLite's own default (2 MB): admin/db.py gives each connection a 64 MB page
# cache, which a big export fills with pages it reads once, so peak memory
# grew with the row count (77 MB at 20,000 rows, 136 MB at 200,000).
EXPORT_CACHE_KIB = 2000


@contextmanager
def _small_page_cache(conn: Connection) -> Iterator[None]:
    """A small SQLite page cache on the export's connection, restored after."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{EXPORT_CACHE_KIB}")
    try:
        yield
    finally:
        try:
            conn.exec_driver_sql(f"PRAGMA cache_size={int(before or -EXPORT_CACHE_KIB)}")
        except sa.exc.SQLAlchemyError:  # don't mask the export's own error
            conn.invalidate()  # nor pool a connection left with the small cache


def zone_for(
    conn: Connection,
    tenant_id: int,
    scope: str,
    filters_qs: str,
    location_scope: Sequence[int] | None,
) -> ZoneInfo:
    """The zone an export's times and file name are told in (`export_zone` of its places)."""
    filters = rows.filters_from_query_string(filters_qs) if scope == "filtered" else None
    places = [filters.location] if filters and filters.location is not None else location_scope
    return export_zone(conn, tenant_id, places)


def _count(conn: Connection, query: sa.Select[Any], max_rows: int | None) -> int:
    """The export's rows; with `max_rows`, `TooManyRows` past it (counted no further)."""
    if max_rows is None:
        return rows.count(conn, query)
    total = limits.count_up_to(conn, query, max_rows + 1)
    if total > max_rows:
        raise limits.TooManyRows(total)
    return total


def write_customers(
    engine: Engine,
    *,
    tenant_id: int,
    scope: str,
    fmt: str,
    out_dir: Path,
    base_name: str,
    lang: str = "vi",
    filters_qs: str = "",
    ids: Sequence[int] | None = None,
    location_scope: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    purpose: str | None = None,
    zone: ZoneInfo | None = None,
    disk_name: str | None = None,
    max_rows: int | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """Write the export (not audited); returns {path, rows, files, file_name, audit}.

    `base_name` names the download (and a zip's parts), `disk_name` the file
    kept (default `base_name`); times are told in `zone` (default `zone_for`).
    Past `max_rows`: `TooManyRows` before anything is written; past `deadline`
    (`time.monotonic()`): `TooSlow`, nothing kept.
    """
    if scope not in rows.SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    if purpose is not None and purpose not in rows.PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    with engine.connect() as conn, _small_page_cache(conn), limits.time_limit(conn, deadline):
        t = schema.tenants.c
        region = str(conn.execute(sa.select(t.country).where(t.id == tenant_id)).scalar() or "VN")
        filters = rows.filters_from_query_string(filters_qs) if scope == "filtered" else None
        query = rows.export_query(
            tenant_id,
            scope,
            filters=filters,
            ids=ids,
            location_scope=location_scope,
            region=region,
            dialect=conn.dialect.name,
            purpose=purpose,
        )
        total = _count(conn, query, max_rows)
        if progress:
            progress(0, total)
        zone = zone or zone_for(conn, tenant_id, scope, filters_qs, location_scope)
        maker = RowMaker(lang, zone, region, for_csv=fmt == "csv")
        path, written, parts = write_export(
            limits.until(rows.batches(conn, query), deadline),
            out_dir=out_dir,
            base_name=base_name,
            disk_name=disk_name,
            fmt=fmt,
            maker=maker,
            lang=lang,
            progress=(lambda done: progress(done, total)) if progress else None,
        )
        names = filter_names(conn, tenant_id, filters, location_scope)
    details = {
        "scope": scope,
        "purpose": purpose,
        "format": fmt,
        "rows": written,
        "files": parts,
        "filters": filters_qs if scope == "filtered" else None,
        "location_scope": list(location_scope) if location_scope is not None else None,
        "names": names,
    }
    return {
        "path": str(path),
        "rows": written,
        "files": parts,
        "file_name": f"{base_name}{path.suffix}",
        "audit": details,
    }


def audit_export(
    conn: Connection, tenant_id: int, user_id: int | None, path: str, details: dict[str, Any]
) -> None:
    """The export's audit row ("Lan exported 164 customers (VIP, Q3) as XLSX")."""
    conn.execute(
        schema.audit_log.insert().values(
            tenant_id=tenant_id,
            user_id=user_id,
            action="customers.export",
            target_type="export",
            target_id=Path(path).name[:60],
            details=details,
            at=utcnow(),
        )
    )


def export_customers(
    engine: Engine, *, tenant_id: int, user_id: int | None = None, **kw: Any
) -> dict[str, Any]:
    """Write the export (`write_customers`) and audit it; returns {path, rows, files, file_name}."""
    result = write_customers(engine, tenant_id=tenant_id, **kw)
    details = result.pop("audit")
    with engine.begin() as conn:
        audit_export(conn, tenant_id, user_id, result["path"], details)
    return result


def run_export_job(engine: Engine, job: jobs.Job, data_dir: str | Path) -> None:
    params = job.params

    def beat(done: int, total: int) -> None:
        jobs.heartbeat(engine, job.id, done, total)

    scope = str(params.get("scope", "all"))
    filters_qs = str(params.get("filters", ""))
    with engine.connect() as conn:
        asked = conn.execute(
            sa.select(schema.jobs.c.created_at).where(schema.jobs.c.id == job.id)
        ).scalar()
        zone = named_zone(
            params.get("zone"),
            zone_for(conn, job.tenant_id, scope, filters_qs, params.get("location_scope")),
        )
    stem = file_stem(asked or utcnow(), zone)
    result = export_customers(
        engine,
        tenant_id=job.tenant_id,
        scope=scope,
        fmt=str(params.get("format", "xlsx")),
        out_dir=export_dir(data_dir, job.tenant_id),
        base_name=stem,
        disk_name=f"{stem}-{job.id}",
        zone=zone,
        lang=str(params.get("lang", "vi")),
        filters_qs=filters_qs,
        ids=[int(i) for i in params.get("ids") or []],
        location_scope=params.get("location_scope"),
        user_id=job.created_by,
        progress=beat,
        purpose=params.get("purpose") or None,
    )
    path = result.pop("path")
    jobs.finish(
        engine,
        job.id,
        result,
        file_path=path,
        expires_at=utcnow() + jobs.EXPORT_TTL,
        progress=int(result["rows"]),
    )
