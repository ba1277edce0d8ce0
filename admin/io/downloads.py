"""Exports and the Downloads page (blueprint ``exports``).

- ``POST /exports`` (``exports.create``): from the customer list, fields
  ``scope`` (selected | filtered | all), ``filters`` (the list's query
  string), ``format`` (xlsx | csv), ``purpose`` (marketing). At most
  `immediate.IMMEDIATE_MAX_ROWS` rows: the file itself, at once (recorded on
  Downloads); more, or too slow: an export job with the requester's location
  scope and time zone fixed at that moment.
- ``GET /downloads``: the requester's exports (owners: everyone's) with time,
  status, rows, progress and expiry, and their recent imports.
- ``GET /downloads/<id>``: the file, while it has not expired.
- Every page gets `ready_exports()` for the "your export is ready" notice.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.customers.filters import parse_filters
from porchlight.admin.customers.selection import clear as clear_selection
from porchlight.admin.customers.selection import list_key, selected_ids
from porchlight.admin.db import get_engine, read_rows, utcnow
from porchlight.admin.io import jobs
from porchlight.admin.io.exports import immediate
from porchlight.admin.io.exports.describe import describe
from porchlight.admin.io.exports.job import zone_for
from porchlight.admin.io.exports.local_time import export_zone, named_zone, zone_words
from porchlight.admin.io.exports.rows import SCOPES
from porchlight.admin.io.exports.writers import FORMATS
from porchlight.admin.io.imports.texts import page_text
from porchlight.admin.scope import current_tenant_id, job_or_404, require_role, visible_location_ids

log = logging.getLogger(__name__)

bp = Blueprint("exports", __name__)

LIST_LIMIT = 50
EXPORT_ROLES = ("owner", "manager", "viewer")  # each exports what the list shows them


def _lang() -> str:
    return str(get_locale() or "vi")


@bp.route("/exports", methods=["POST"])
@require_role(*EXPORT_ROLES)
def create() -> ResponseReturnValue:
    """At most `IMMEDIATE_MAX_ROWS` rows: the file at once; more (or slow): a job on Downloads."""
    params = _export_params()
    if not isinstance(params, dict):
        return params
    done = immediate.export_now(
        get_engine(),
        tenant_id=current_tenant_id(),
        user_id=int(current_user.id),
        params=params,
        data_dir=current_app.config["DATA_DIR"],
    )
    if done is not None:
        return send_file(done.path, as_attachment=True, download_name=done.file_name, max_age=0)
    with get_engine().begin() as conn:
        job_id = jobs.enqueue(
            conn,
            tenant_id=current_tenant_id(),
            kind="export",
            params=params,
            created_by=int(current_user.id),
        )
        if params["scope"] == "selected":
            clear_selection(conn, current_user.id)
        keys = ("scope", "format", "filters", "selected", "purpose", "location_scope")
        audit(conn, "customers.export_request", "job", job_id, {k: params[k] for k in keys})
    flash(page_text("export_queued", _lang()), "success")
    return redirect(url_for("exports.index"))


def _export_params() -> dict[str, Any] | ResponseReturnValue:
    """The job params of the list's export form, or a redirect back with a message."""
    scope = request.form.get("scope", "")
    fmt = request.form.get("format", "xlsx")
    if scope not in SCOPES or fmt not in FORMATS:
        flash(page_text("bad_export", _lang()), "error")
        return redirect(url_for("customers.index"))
    purpose = "marketing" if request.form.get("purpose") == "marketing" else None
    raw = request.form.get("filters", "")[:4000]
    parsed = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(raw).items()}
    list_filters, _notices = parse_filters(parsed)
    # The scope on screen is the scope in the file: "selected" is what is ticked
    # on this very list (stored, not what the page last knew), and "filtered"
    # these filters; the selection is cleared once exported.
    filters_qs = list_filters.query_string(after=None) if scope != "all" else ""
    with get_engine().connect() as conn:
        ids = selected_ids(conn, current_user.id, list_key(list_filters))
        if scope != "selected":
            ids = []
        elif not ids:
            flash(page_text("nothing_selected", _lang()), "error")
            return redirect(url_for("customers.index"))
        location_scope = (
            visible_location_ids(current_user, conn) if current_user.role == "manager" else None
        )
        zone = zone_for(conn, current_tenant_id(), scope, filters_qs, location_scope)
    return {
        "scope": scope,
        "format": fmt,
        "filters": filters_qs,
        "ids": ids,
        "selected": len(ids),
        "location_scope": location_scope,
        "lang": _lang(),
        "purpose": purpose,
        "zone": zone.key,
    }


def _jobs_query(tenant_id: int, kind: str) -> sa.Select[Any]:
    j = schema.jobs.c
    query = (
        sa.select(schema.jobs)
        .where(j.tenant_id == tenant_id, j.kind == kind)
        .order_by(j.created_at.desc(), j.id.desc())
        .limit(LIST_LIMIT)
    )
    if current_user.role != "owner":
        query = query.where(j.created_by == current_user.id)
    return query


@bp.route("/downloads")
@require_role()
def index() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    j = schema.jobs.c
    with get_engine().begin() as conn:
        exports = conn.execute(_jobs_query(tenant_id, "export")).all()
        imports = conn.execute(_jobs_query(tenant_id, "import")).all()
        conn.execute(
            schema.jobs.update()
            .where(
                j.tenant_id == tenant_id,
                j.created_by == current_user.id,
                j.kind == "export",
                j.status == "done",
                j.seen_at.is_(None),
            )
            .values(seen_at=utcnow())
        )
        loc, g = schema.locations.c, schema.groups.c
        places = dict(
            conn.execute(sa.select(loc.id, loc.name).where(loc.tenant_id == tenant_id)).all()
        )
        groups = dict(conn.execute(sa.select(g.id, g.name).where(g.tenant_id == tenant_id)).all())
        scope = visible_location_ids(current_user, conn) if current_user.role == "manager" else None
        page_zone = export_zone(conn, tenant_id, scope)
    now = utcnow()
    zones = {row.id: named_zone((row.params or {}).get("zone"), page_zone).key for row in exports}
    lost = {row.id for row in exports if jobs.is_lost(row, now, get_engine())}
    lost |= {
        row.id
        for row in exports
        if (row.result or {}).get("file_error", {}).get("code") == "worker_lost"
    }
    running = any(row.status in ("queued", "running") and row.id not in lost for row in exports)
    running |= any(row.status in ("queued", "running") for row in imports)
    return render_template(
        "exports/downloads.html",
        exports=exports,
        imports=imports,
        what={row.id: describe(row, places, groups) for row in exports},
        lost=lost,
        refresh=running,
        now=now,
        page_zone=page_zone.key,
        zones=zones,
        zone_words=zone_words(page_zone, now.astimezone(page_zone)),
    )


@bp.route("/exports/<int:job_id>/retry", methods=["POST"])
@require_role(*EXPORT_ROLES)
def retry(job_id: int) -> ResponseReturnValue:
    """Run again an export whose worker was lost (same scope, filters, rows chosen)."""
    job = job_or_404(job_id, "export")
    if jobs.retry(get_engine(), job.id):
        with get_engine().begin() as conn:
            audit(conn, "customers.export_retry", "job", job.id)
    return redirect(url_for("exports.index"))


@bp.route("/downloads/<int:job_id>")
@require_role()
def download(job_id: int) -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    j = schema.jobs.c
    with get_engine().begin() as conn:
        job = conn.execute(
            sa.select(schema.jobs).where(
                j.id == job_id, j.tenant_id == tenant_id, j.kind == "export"
            )
        ).first()
        if job is None or (current_user.role != "owner" and job.created_by != current_user.id):
            abort(404)
        if job.status != "done" or not job.file_path or not Path(job.file_path).is_file():
            abort(410)
        if job.expires_at is not None and job.expires_at < utcnow():
            abort(410)
        conn.execute(schema.jobs.update().where(j.id == job_id).values(seen_at=utcnow()))
        audit(conn, "customers.export_download", "job", job_id, {"rows": job.progress})
    name = (job.result or {}).get("file_name") or Path(job.file_path).name
    return send_file(job.file_path, as_attachment=True, download_name=name, max_age=0)


def ready_exports(conn: Connection | None = None) -> list[Any]:
    """The signed-in user's finished exports they have not seen yet (for the notice),
    read on `conn`, else on a connection of its own."""
    if not getattr(current_user, "is_authenticated", False):
        return []
    if request.endpoint == "exports.index":
        return []
    j = schema.jobs.c
    query = (
        sa.select(j.id, j.progress)
        .where(
            j.tenant_id == current_user.tenant_id,
            j.created_by == current_user.id,
            j.kind == "export",
            j.status == "done",
            j.seen_at.is_(None),
        )
        .order_by(j.id.desc())
        .limit(3)
    )
    return read_rows(query, conn)


@bp.app_context_processor
def _notice() -> dict[str, Any]:
    return {"ready_exports": ready_exports}
