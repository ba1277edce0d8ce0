"""Import pages (blueprint ``imports``): upload, dry run, column mapping, confirm.

Owners import into any location, managers into theirs; viewers cannot. The
upload is stored under ``DATA_DIR/uploads/<tenant>/`` and handed from job to
job (dry run -> mapping -> apply) by renaming, so a dry run's expiry never
deletes a file an apply job still needs.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

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

from porchlight.admin import schema
from porchlight.admin.audit import audit
from porchlight.admin.db import get_engine
from porchlight.admin.io import jobs
from porchlight.admin.io.exports.xlsx_stream import STYLE_MONEY, STYLE_TEXT, XlsxStreamWriter
from porchlight.admin.io.imports.layouts import FIELD_LABELS, FIELDS, TEMPLATE_FIELDS
from porchlight.admin.io.imports.texts import page_text, text
from porchlight.admin.scope import current_tenant_id, job_or_404, require_role, visible_location_ids

log = logging.getLogger(__name__)

bp = Blueprint("imports", __name__)

ENCODINGS = ("utf-8", "utf-16", "cp1258", "tis-620")
_LANG = {"vi": 0, "th": 1, "en": 2}


def lang() -> str:
    return str(get_locale() or "vi")


@bp.app_context_processor
def _texts() -> dict[str, Any]:
    return {
        "io_t": lambda key, **kw: page_text(key, lang(), **kw),
        "io_err": lambda code, **kw: text(code, lang(), **kw),
    }


def upload_dir(tenant_id: int) -> Path:
    path = Path(current_app.config["DATA_DIR"]) / "uploads" / str(tenant_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _choices(tenant_id: int) -> tuple[list[Any], list[Any]]:
    loc, g = schema.locations.c, schema.groups.c
    with get_engine().connect() as conn:
        visible = visible_location_ids(current_user, conn)
        locations = conn.execute(
            sa.select(loc.id, loc.name)
            .where(loc.tenant_id == tenant_id, loc.id.in_(visible), loc.archived_at.is_(None))
            .order_by(loc.name)
        ).all()
        groups = conn.execute(
            sa.select(g.id, g.name).where(g.tenant_id == tenant_id).order_by(g.name)
        ).all()
    return list(locations), list(groups)


@bp.route("/imports/new")
@require_role("owner", "manager")
def new() -> ResponseReturnValue:
    locations, groups = _choices(current_tenant_id())
    return render_template(
        "imports/new.html", locations=locations, groups=groups, encodings=ENCODINGS
    )


@bp.route("/imports/template.xlsx")
@require_role()
def template() -> ResponseReturnValue:
    """The sample file: our headers in the chosen language and two example rows."""
    chosen = request.args.get("lang", lang())
    index = _LANG.get(chosen, 0)
    widths = [22, 16, 26, 12, 10, 30, 16, 10, 18, 12, 24, 14, 12]
    examples = [
        ["Nguyễn Thị Lan", "0912 345 678", "lan@example.vn", "15/08/1990", "Nữ"],
        ["Somchai Jaidee", "+66 81 234 5678", "somchai@example.co.th", "1988-02-29", "ชาย"],
    ]
    extra = [
        ["12 Lê Lợi, Quận 1", "Hồ Chí Minh", "700000", "wifi, cafe", "VIP", "", 1250000, "KH001"],
        ["99 Sukhumvit", "Bangkok", "10110", "wifi", "Member", "", 480000, "KH002"],
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "template.xlsx"
        data = _write_template(path, widths, index, examples, extra)
    return send_file(
        BytesIO(data),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"porchlight-customers-template-{chosen}.xlsx",
    )


def _write_template(
    path: Path, widths: list[int], index: int, examples: list[list[Any]], extra: list[list[Any]]
) -> bytes:
    writer = XlsxStreamWriter(path, widths, sheet_name="Customers")
    writer.write_header([FIELD_LABELS[f][index] for f in TEMPLATE_FIELDS])
    styles = [STYLE_TEXT] * len(TEMPLATE_FIELDS)
    styles[TEMPLATE_FIELDS.index("spend_total")] = STYLE_MONEY
    for first, rest in zip(examples, extra, strict=True):
        writer.write_row(first + rest, styles)
    writer.close()
    return path.read_bytes()


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


@bp.route("/imports", methods=["POST"])
@require_role("owner", "manager")
def create() -> ResponseReturnValue:
    tenant_id = current_tenant_id()
    locations, groups = _choices(tenant_id)
    location_id = _int_or_none(request.form.get("location_id"))
    group_id = _int_or_none(request.form.get("group_id"))
    if location_id not in {row.id for row in locations}:
        abort(400)
    if group_id is not None and group_id not in {row.id for row in groups}:
        abort(400)
    encoding = request.form.get("encoding") or None
    if encoding is not None and encoding not in ENCODINGS:
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(page_text("no_file", lang()), "error")
        return redirect(url_for("imports.new"))
    suffix = Path(upload.filename).suffix.lower()
    suffix = suffix if suffix in (".xlsx", ".csv", ".txt") else ".bin"
    path = upload_dir(tenant_id) / f"{secrets.token_hex(16)}{suffix}"
    upload.save(path)
    params = {
        "mode": "dry_run",
        "location_id": location_id,
        "group_id": group_id,
        "file_name": Path(upload.filename).name[:200],
        "encoding": encoding,
    }
    with get_engine().begin() as conn:
        job_id = jobs.enqueue(
            conn,
            tenant_id=tenant_id,
            kind="import",
            params=params,
            created_by=int(current_user.id),
            file_path=str(path),
        )
        audit(conn, "customers.import_upload", "job", job_id, {"file": params["file_name"]})
    return redirect(url_for("imports.show", job_id=job_id))


def _job(job_id: int) -> Any:
    return job_or_404(job_id, "import")


@bp.route("/imports/<int:job_id>")
@require_role("owner", "manager")
def show(job_id: int) -> ResponseReturnValue:
    job = _job(job_id)
    with get_engine().connect() as conn:
        loc = conn.execute(
            sa.select(schema.locations.c.name).where(
                schema.locations.c.id == job.params.get("location_id")
            )
        ).scalar()
    labels = {f: FIELD_LABELS[f][_LANG.get(lang(), 0)] for f in FIELDS}
    lost = (
        jobs.is_lost(job, engine=get_engine())
        or ((job.result or {}).get("file_error") or {}).get("code") == "worker_lost"
    )
    return render_template(
        "imports/show.html",
        job=job,
        result=job.result or {},
        location_name=loc,
        field_labels=labels,
        lost=lost,
        refresh=job.status in ("queued", "running") and not lost,
    )


@bp.route("/imports/<int:job_id>/retry", methods=["POST"])
@require_role("owner", "manager")
def retry(job_id: int) -> ResponseReturnValue:
    """Run again a job whose worker was lost (killed mid-import): same file, same choices."""
    job = _job(job_id)
    if jobs.retry(get_engine(), job.id):
        with get_engine().begin() as conn:
            audit(
                conn, "customers.import_retry", "job", job.id, {"file": job.params.get("file_name")}
            )
    return redirect(url_for("imports.show", job_id=job.id))


def _follow_up(job: Any, params: dict[str, Any], action: str) -> ResponseReturnValue:
    """A new job on the same upload (moved to a new name, so expiry cannot take it)."""
    if job.status != "done" or not job.file_path or not Path(job.file_path).is_file():
        flash(page_text("no_file", lang()), "error")
        return redirect(url_for("imports.new"))
    old = Path(job.file_path)
    moved = old.with_name(f"{secrets.token_hex(16)}{old.suffix}")
    old.rename(moved)
    with get_engine().begin() as conn:
        conn.execute(schema.jobs.update().where(schema.jobs.c.id == job.id).values(file_path=None))
        new_id = jobs.enqueue(
            conn,
            tenant_id=job.tenant_id,
            kind="import",
            params=params,
            created_by=int(current_user.id),
            file_path=str(moved),
        )
        audit(conn, action, "job", new_id, {"file": params.get("file_name"), "from_job": job.id})
    return redirect(url_for("imports.show", job_id=new_id))


@bp.route("/imports/<int:job_id>/confirm", methods=["POST"])
@require_role("owner", "manager")
def confirm(job_id: int) -> ResponseReturnValue:
    job = _job(job_id)
    result = job.result or {}
    if job.params.get("mode") != "dry_run" or result.get("needs_mapping"):
        abort(400)
    params = dict(job.params) | {"mode": "apply", "total": result.get("rows")}
    return _follow_up(job, params, "customers.import_confirm")


@bp.route("/imports/<int:job_id>/mapping", methods=["POST"])
@require_role("owner", "manager")
def mapping(job_id: int) -> ResponseReturnValue:
    job = _job(job_id)
    headers = (job.result or {}).get("headers") or []
    chosen: dict[str, str] = {}
    for index in range(len(headers)):
        field = request.form.get(f"col{index}", "")
        if field in FIELDS and field not in chosen.values():
            chosen[str(index)] = field
    params = dict(job.params) | {"mode": "dry_run", "mapping": chosen}
    return _follow_up(job, params, "customers.import_mapping")
