"""``/api/v1`` endpoints: enroll, announce, events, config, heartbeat, command ack."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import IntegrityError, OperationalError

from porchlight.admin.client import client_ip
from porchlight.admin.db import utcnow
from porchlight.admin.schema import locations, router_commands, routers
from porchlight.admin.sync import adoption
from porchlight.admin.sync.enrollment import EnrollmentError, RouterIdentity
from porchlight.admin.sync.enrollment import enroll as enroll_router
from porchlight.admin.sync.fields import clock_skew, heartbeat_values, record_skew, short_text
from porchlight.admin.sync.guard import (
    ApiError,
    busy,
    engine,
    ingest_slot,
    json_body,
    rate_limit,
    require_router,
    router_transaction,
)
from porchlight.admin.sync.ingest import (
    ForeignEventError,
    IngestResult,
    ingest_batch,
    write_transaction,
)
from porchlight.admin.sync.location_config import build_location_config
from porchlight.events import MAX_BATCH, EventError, validate_event

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")  # CSRF-exempt (admin/app.py)

INGEST_WAIT_SECONDS = 2.0
ANNOUNCE_FIELDS = {
    "key": 80,
    "secret": 128,
    "serial": 64,
    "agent_version": 40,
    "location_hint": 200,
}
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


@bp.post("/enroll")
def enroll() -> tuple[Response, int]:
    rate_limit(client_ip() or "unknown", "API_ENROLL_PER_MINUTE")  # behind ProxyFix
    body = json_body(16 * 1024)
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        raise ApiError(422, "invalid", "code: required")
    code = short_text(body, "code", 40) or ""
    hostname = short_text(body, "hostname", 200)
    version = short_text(body, "agent_version", 40)
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


@bp.post("/announce")
def announce() -> tuple[Response, int]:
    """A flashed router waiting for adoption (admin/sync/adoption.py): grants nothing
    until a manager adopts it; then, once, a one-time enrollment code."""
    remote = client_ip() or "unknown"
    rate_limit(remote, "API_ANNOUNCE_PER_MINUTE")
    body = json_body(4 * 1024)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "expected a JSON object")
    fields: dict[str, Any] = {
        key: short_text(body, key, limit) for key, limit in ANNOUNCE_FIELDS.items()
    }
    for key in ("key", "secret", "serial"):
        if not fields[key]:
            raise ApiError(422, "invalid", f"{key}: required", extra={"field": key})
    if len(fields["secret"] or "") < 32:
        raise ApiError(422, "invalid", "secret: at least 32 characters", extra={"field": "secret"})
    try:
        fields["macs"] = adoption.clean_macs(body.get("macs"))
        with engine().begin() as conn:
            answer = adoption.announce(conn, fields, remote)
    except adoption.AnnounceError as exc:
        extra = {"field": "macs"} if exc.code == "invalid" else None
        raise ApiError(exc.status, exc.code, exc.message, extra=extra) from exc
    except OperationalError as exc:
        raise busy() from exc
    return jsonify(answer), (200 if answer["status"] == "adopted" else 202)


@bp.post("/events")
def events() -> Response:
    router = require_router()
    rate_limit(str(router.router_id), "API_EVENTS_PER_MINUTE")
    body = json_body(element_level=2)  # a too-deep event is named by its index
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise ApiError(400, "bad_request", 'expected {"events": [...]}')
    batch = body["events"]
    if len(batch) > MAX_BATCH:
        raise ApiError(413, "too_many_events", f"at most {MAX_BATCH} events per batch")
    now = utcnow()
    skew = clock_skew(body, "sent_at", now)
    clean = []
    for index, event in enumerate(batch):
        try:
            clean.append(validate_event(event, now=now))
        except EventError as exc:
            if skew is not None:  # the Routers page shows why its events are refused
                with engine().begin() as conn:
                    record_skew(conn, router.router_id, skew)
            raise ApiError(422, "invalid_event", exc.message, extra={"index": index}) from exc
    slot = ingest_slot()
    if not slot.acquire(timeout=INGEST_WAIT_SECONDS):
        raise busy("too many batches being written; retry later")
    try:
        result = _write_batch(router, clean, now, skew)
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


def _write_batch(
    router: RouterIdentity, clean: list[dict[str, Any]], now: datetime, skew: int | None
) -> IngestResult:
    """The batch in one transaction, tried a second time when a unique index met a row
    another writer committed meanwhile (an import job's new customer with the same
    phone: the INSERT waited for it, then failed); the new snapshot sees that row."""
    for tries_left in (1, 0):
        try:
            with write_transaction(engine(), router.tenant_id) as conn:
                result = ingest_batch(conn, router, clean, now=now)
                record_skew(conn, router.router_id, skew)
            return result
        except IntegrityError as exc:
            if not tries_left:
                log.warning("router %s: batch not stored: %s", router.router_id, exc.orig)
                raise busy("the batch met a concurrent write; retry later") from exc
            log.info(
                "router %s: batch met a concurrent write (%s); again", router.router_id, exc.orig
            )
    raise AssertionError("unreachable")


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [part.strip() for part in header.split(",")]
    return any(c == "*" or c.removeprefix("W/").strip('"') == etag for c in candidates)


@bp.get("/config")
def config() -> Response:
    with router_transaction("API_POLLS_PER_MINUTE") as (router, conn):
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
    with router_transaction("API_POLLS_PER_MINUTE") as (router, conn):
        body = json_body(16 * 1024)
        if not isinstance(body, dict):
            raise ApiError(400, "bad_request", "expected a JSON object")
        values = heartbeat_values(body, utcnow())
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
