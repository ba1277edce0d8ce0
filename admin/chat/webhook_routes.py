"""``/api/v1/webhooks``: Zalo OA and Messenger deliveries (docs/protocols.md section 2.9).

Every request passes, in order: a known token in the URL (else 404, counted
against the sender's address like a refused device token), the location's
rate limit, the size bound (64 KiB, read before parsing), the JSON depth
bound, the platform's signature with the location's secret (401), the event's
freshness (a day back, ten minutes ahead: Zalo 422, a Messenger item is
skipped) and the replay check (the same
body twice: 200 ``{"duplicate": true}``, nothing stored). Forged or malformed
deliveries store nothing. Errors are the sync API's JSON.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import OperationalError

from porchlight.admin.chat import linking, messenger, zalo_oa
from porchlight.admin.chat.accounts import Hook, hook_by_token
from porchlight.admin.client import client_ip
from porchlight.admin.db import utcnow
from porchlight.admin.sync.guard import ApiError, busy, engine, parse_json, rate_limit

log = logging.getLogger(__name__)

bp = Blueprint("chat_webhooks", __name__, url_prefix="/api/v1/webhooks")  # CSRF-exempt

MAX_WEBHOOK_BODY = 64 * 1024
OLDEST = timedelta(days=1)
NEWEST = timedelta(minutes=10)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Response:
    response = jsonify({"error": error.code, "message": error.message, **error.extra})
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _hook(token: str) -> Hook:
    with engine().connect() as conn:
        hook = hook_by_token(conn, token, str(current_app.config["SECRET_KEY"]))
    if hook is None:
        rate_limit(client_ip() or "unknown", "API_AUTH_FAILURES_PER_MINUTE")
        raise ApiError(404, "not_found", "no webhook with this address")
    rate_limit(str(hook.location_id), "API_WEBHOOKS_PER_MINUTE")
    return hook


def _raw_json() -> tuple[bytes, dict[str, Any]]:
    length = request.content_length
    if length is not None and length > MAX_WEBHOOK_BODY:
        raise ApiError(413, "too_large", f"body larger than {MAX_WEBHOOK_BODY} bytes")
    raw = request.stream.read(MAX_WEBHOOK_BODY + 1)
    if len(raw) > MAX_WEBHOOK_BODY:
        raise ApiError(413, "too_large", f"body larger than {MAX_WEBHOOK_BODY} bytes")
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "expected a JSON object")
    return raw, body


def _fresh(at: datetime, now: datetime) -> None:
    if not now - OLDEST <= at <= now + NEWEST:
        raise ApiError(422, "stale", "timestamp: more than a day old or in the future")


@bp.post("/zalo-oa/<token>")
def zalo_oa_event(token: str) -> Response:
    hook = _hook(token)
    raw, body = _raw_json()
    secret = hook.zalo_secret
    if not secret or not zalo_oa.signature_ok(
        raw, body, request.headers.get("X-ZEvent-Signature", ""), secret
    ):
        raise ApiError(401, "bad_signature", "X-ZEvent-Signature does not match")
    now = utcnow()
    try:
        event = zalo_oa.follow_event(body)
        _fresh(zalo_oa.event_time(body), now)
    except zalo_oa.ZaloEventError as exc:
        raise ApiError(422, "invalid", str(exc)) from exc
    if event is None:
        return jsonify({"ignored": True})
    if event.oa_id != hook.zalo_oa:
        raise ApiError(403, "other_account", "oa_id: not this location's Official Account")
    try:
        with engine().begin() as conn:
            if not linking.first_delivery(conn, hook.location_id, raw, now):
                return jsonify({"duplicate": True})
            outcome = zalo_oa.apply_follow(conn, hook, event, now)
    except OperationalError as exc:
        raise busy("the database is busy; retry later") from exc
    log.info(
        "location %s: Zalo %s %s",
        hook.location_id,
        "follow" if event.granted else "unfollow",
        outcome,
    )
    return jsonify({"result": outcome})


@bp.get("/messenger/<token>")
def messenger_verify(token: str) -> Response:
    """Meta's subscription check: echo ``hub.challenge`` for the right verify token."""
    hook = _hook(token)
    args = request.args
    challenge = args.get("hub.challenge", "")
    if (
        args.get("hub.mode") != "subscribe"
        or args.get("hub.verify_token") != hook.meta_verify_token
        or not challenge
        or len(challenge) > 200
    ):
        raise ApiError(403, "forbidden", "hub.verify_token does not match")
    return Response(challenge, mimetype="text/plain")


@bp.post("/messenger/<token>")
def messenger_event(token: str) -> Response:
    hook = _hook(token)
    raw, body = _raw_json()
    secret = hook.meta_app_secret
    if not secret or not messenger.signature_ok(
        raw, request.headers.get("X-Hub-Signature-256", ""), secret
    ):
        raise ApiError(401, "bad_signature", "X-Hub-Signature-256 does not match")
    if body.get("object") != "page" or not isinstance(body.get("entry"), list):
        raise ApiError(422, "invalid", 'expected {"object": "page", "entry": [...]}')
    now = utcnow()
    found: list[messenger.Referral] = []
    if hook.messenger_page_id:
        with engine().connect() as conn:
            found = messenger.referrals(body, hook, messenger.page_keys(conn, hook))
    # Meta retries a failed delivery for hours: a stale item is skipped, not refused
    found = [r for r in found if now - OLDEST <= r.at <= now + NEWEST]
    if not found:
        return jsonify({"ignored": True})
    try:
        with engine().begin() as conn:
            if not linking.first_delivery(conn, hook.location_id, raw, now):
                return jsonify({"duplicate": True})
            outcomes = [messenger.apply_referral(conn, hook, ref, now) for ref in found]
    except OperationalError as exc:
        raise busy("the database is busy; retry later") from exc
    log.info("location %s: Messenger referrals %s", hook.location_id, outcomes)
    return jsonify({"result": outcomes})
