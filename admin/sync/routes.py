"""``/api/v1`` endpoints: enroll, events, config, heartbeat, command ack."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import OperationalError

from porchlight.admin.client import client_ip
from porchlight.admin.db import utcnow
from porchlight.admin.schema import locations, router_commands, routers
from porchlight.admin.sync.enrollment import EnrollmentError
from porchlight.admin.sync.enrollment import enroll as enroll_router
from porchlight.admin.sync.guard import (
    ApiError,
    busy,
    engine,
    ingest_slot,
    json_body,
    rate_limit,
    require_router,
)
from porchlight.admin.sync.ingest import ForeignEventError, ingest_batch, write_transaction
from porchlight.admin.sync.location_config import build_location_config
from porchlight.events import MAX_BATCH, EventError, validate_event

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")  # CSRF-exempt (admin/app.py)

INGEST_WAIT_SECONDS = 2.0
MAX_ID = 2**31 - 1  # an Integer column: larger ids cannot exist (and overflow drivers)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    response = jsonify({"error": error.code, "message": error.message, **error.extra})
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="porchlight"'
    return response


def _without_nul(value: Any) -> Any:
    """NUL characters removed from every string (PostgreSQL text cannot hold them)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    return value


def _short_text(body: dict[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(422, "invalid", f"{key}: expected a string of at most {limit} characters")
    return str(_without_nul(value))


def _count(body: dict[str, Any], key: str, maximum: int = 2**31 - 1) -> int | None:
    """A non-negative integer field that fits its column (Integer unless told)."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ApiError(422, "invalid", f"{key}: expected an integer from 0 to {maximum}")
    return value


@bp.post("/enroll")
def enroll() -> tuple[Response, int]:
    rate_limit(client_ip() or "unknown", "API_ENROLL_PER_MINUTE")  # behind ProxyFix
    body = json_body(16 * 1024)
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        raise ApiError(422, "invalid", "code: required")
    code = _short_text(body, "code", 40) or ""
    hostname = _short_text(body, "hostname", 200)
    version = _short_text(body, "agent_version", 40)
    try:
        with engine().begin() as conn:
            identity, token = enroll_router(conn, code, hostname=hostname, agent_version=version)
            location = conn.execute(
                sa.select(
                    locations.c.id, locations.c.name, locations.c.country, locations.c.timezone
                ).where(locations.c.id == identity.location_id)
            ).one()
    except EnrollmentError as exc:
        raise ApiError(403, "invalid_code", exc.message) from exc
    return (
        jsonify(
            {
                "token": token,
                "router_id": identity.router_id,
                "location": dict(location._mapping),
            }
        ),
        201,
    )


@bp.post("/events")
def events() -> Response:
    router = require_router()
    rate_limit(str(router.router_id), "API_EVENTS_PER_MINUTE")
    body = json_body()
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise ApiError(400, "bad_request", 'expected {"events": [...]}')
    batch = body["events"]
    if len(batch) > MAX_BATCH:
        raise ApiError(413, "too_many_events", f"at most {MAX_BATCH} events per batch")
    clean = []
    for index, event in enumerate(batch):
        try:
            clean.append(_without_nul(validate_event(event)))
        except EventError as exc:
            raise ApiError(422, "invalid_event", exc.message, extra={"index": index}) from exc
    slot = ingest_slot()
    if not slot.acquire(timeout=INGEST_WAIT_SECONDS):
        raise busy("too many batches being written; retry later")
    try:
        with write_transaction(engine(), router.tenant_id) as conn:
            result = ingest_batch(conn, router, clean)
    except ForeignEventError as exc:
        raise ApiError(
            409, "foreign_event", "an event id of another router", extra={"index": exc.index}
        ) from exc
    except OperationalError as exc:  # database locked / connection lost
        log.warning("router %s: batch not stored: %s", router.router_id, exc.orig)
        raise busy("the database is busy; retry later") from exc
    finally:
        slot.release()
    if result.applied:
        log.info(
            "router %s: %d events applied, %d duplicates, %d visits",
            router.router_id,
            result.applied,
            result.duplicates,
            result.visits,
        )
    return jsonify({"acked": result.acked, "duplicates": result.duplicates})


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [part.strip() for part in header.split(",")]
    return any(c == "*" or c.removeprefix("W/").strip('"') == etag for c in candidates)


@bp.get("/config")
def config() -> Response:
    router = require_router()
    rate_limit(str(router.router_id), "API_POLLS_PER_MINUTE")
    with engine().connect() as conn:
        payload, etag = build_location_config(conn, router.location_id)
    if _etag_matches(request.headers.get("If-None-Match"), etag):
        response = Response(status=304)
    else:
        response = jsonify(payload)
    response.headers["ETag"] = f'"{etag}"'
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.post("/heartbeat")
def heartbeat() -> Response:
    router = require_router()
    rate_limit(str(router.router_id), "API_POLLS_PER_MINUTE")
    body = json_body(16 * 1024)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "expected a JSON object")
    values = {
        "last_seen_at": utcnow(),
        "agent_version": _short_text(body, "agent_version", 40),
        "uptime_seconds": _count(body, "uptime_seconds", 2**63 - 1),
        "clients_online": _count(body, "clients_online"),
        "outbox_depth": _count(body, "outbox_depth"),
        "config_etag": _short_text(body, "config_etag", 80),
        "rejected_events": _count(body, "rejected_events"),
        "rejected_reason": _short_text(body, "rejected_reason", 200),
    }
    values = {key: value for key, value in values.items() if value is not None}
    try:
        with engine().begin() as conn:
            conn.execute(routers.update().where(routers.c.id == router.router_id).values(values))
            rows = conn.execute(
                sa.select(router_commands.c.id, router_commands.c.action, router_commands.c.payload)
                .where(
                    router_commands.c.router_id == router.router_id,
                    router_commands.c.acked_at.is_(None),
                )
                .order_by(router_commands.c.id)
                .limit(100)
            ).all()
    except OperationalError as exc:
        raise busy() from exc
    commands = []
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        commands.append({**payload, "id": int(row.id), "action": row.action})
    return jsonify({"commands": commands})


@bp.post("/commands/<int:command_id>/ack")
def ack_command(command_id: int) -> Response:
    router = require_router()
    rate_limit(str(router.router_id), "API_POLLS_PER_MINUTE")
    if command_id > MAX_ID:
        raise ApiError(404, "not_found", "no such command for this router")
    rc = router_commands.c
    with engine().begin() as conn:
        found = conn.execute(
            sa.select(rc.id, rc.acked_at).where(
                rc.id == command_id, rc.router_id == router.router_id
            )
        ).first()
        if found is None:
            raise ApiError(404, "not_found", "no such command for this router")
        if found.acked_at is None:
            conn.execute(
                router_commands.update().where(rc.id == command_id).values(acked_at=utcnow())
            )
    return jsonify({"acked": True})
