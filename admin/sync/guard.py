"""What every sync API request passes first: token, rate limits, body limits.

Errors are JSON ``{"error": CODE, "message": TEXT}`` raised as `ApiError` and
turned into a response by the blueprint. Rate limits are per key (router
id, or the client address for enrollment and refused tokens: the address
werkzeug's ProxyFix gives behind ``PROXY_COUNT`` trusted proxies) in fixed
one-minute windows kept in the admin database's `rate_limits` table (keys
``api:<setting>:<key>``), so all gunicorn workers share them; a refused request gets ``429`` with
``Retry-After`` = seconds to the next window, and the agent backs off with
jitter on top of it. The ingest concurrency bound stays per worker.
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from porchlight import bounds
from porchlight.admin.client import client_ip
from porchlight.admin.db import utcnow
from porchlight.admin.schema import rate_limits
from porchlight.admin.sync.enrollment import RouterIdentity, authenticate
from porchlight.admin.sync.ingest_rows import dialect_insert

MAX_BODY = 1024 * 1024  # docs/protocols.md section 2
DEFAULT_LIMITS = {
    "API_EVENTS_PER_MINUTE": 600,  # batches per router (500 events each)
    "API_POLLS_PER_MINUTE": 120,  # config + heartbeat + acks per router
    "API_ENROLL_PER_MINUTE": 10,  # enrollment attempts per client address
    "API_ANNOUNCE_PER_MINUTE": 20,  # adoption announcements per client address
    "API_AUTH_FAILURES_PER_MINUTE": 30,  # refused device tokens per client address
    "API_WEBHOOKS_PER_MINUTE": 300,  # Zalo OA / Messenger deliveries per location
    "API_INGEST_CONCURRENCY": 4,  # batches written at once per worker
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.extra = extra or {}


def setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULT_LIMITS[name]))


def engine() -> Engine:
    result: Engine = current_app.extensions["porchlight.engine"]
    return result


API_KEY_PREFIX = "api:"
PURGE_EVERY = 1000  # about one request in this many purges old API windows


def shared_hit(conn: Connection, key: str, limit: int, window: int = 60) -> int | None:
    """Count one request on `key` in the `rate_limits` table; None if allowed, else seconds.

    One INSERT .. ON CONFLICT DO UPDATE .. RETURNING: atomic on PostgreSQL
    (row lock) and SQLite (the write lock is taken by the statement itself,
    so the busy timeout applies), so every gunicorn worker — and every admin
    host on one PostgreSQL — counts in the same fixed window.
    """
    rl = rate_limits
    now = utcnow()
    over = rl.c.window_start <= now - timedelta(seconds=window)
    ins = dialect_insert(conn, rl).values(key=key[:200], window_start=now, count=1)
    row = conn.execute(
        ins.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": sa.case((over, 1), else_=rl.c.count + 1),
                "window_start": sa.case((over, ins.excluded.window_start), else_=rl.c.window_start),
            },
        ).returning(rl.c.count, rl.c.window_start)
    ).one()
    if random.randrange(PURGE_EVERY) == 0:
        conn.execute(
            rl.delete().where(
                rl.c.key.startswith(API_KEY_PREFIX), rl.c.window_start < now - timedelta(days=1)
            )
        )
    count, window_start = row
    if int(count) <= limit:
        return None
    return max(1, math.ceil(window - (now - window_start).total_seconds()))


_INIT_LOCK = threading.Lock()


def _per_app(name: str, factory: Any) -> Any:
    extensions = current_app.extensions
    with _INIT_LOCK:
        if name not in extensions:
            extensions[name] = factory()
        return extensions[name]


def rate_limit(key: str, setting_name: str) -> None:
    """Refuse with 429 past the setting's requests per minute (shared by all workers)."""
    try:
        with engine().begin() as conn:
            wait = shared_hit(conn, f"{API_KEY_PREFIX}{setting_name}:{key}", setting(setting_name))
    except OperationalError as exc:  # database locked / unreachable: come back later
        raise busy("the database is busy; retry later") from exc
    if wait is not None:
        raise ApiError(429, "rate_limited", "too many requests", retry_after=wait)


def ingest_slot() -> threading.BoundedSemaphore:
    """The per-process semaphore bounding concurrent batch writes."""
    size = setting("API_INGEST_CONCURRENCY")
    semaphore: threading.BoundedSemaphore = _per_app(
        "porchlight.api_ingest_slots", lambda: threading.BoundedSemaphore(size)
    )
    return semaphore


def busy(message: str = "the admin is busy") -> ApiError:
    return ApiError(503, "busy", message, retry_after=random.randint(2, 10))


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "a device token is required (Authorization: Bearer)")
    return token.strip()


def _refuse_token() -> ApiError:
    # Token guessing is limited per client address (the one ProxyFix gives).
    rate_limit(client_ip() or "unknown", "API_AUTH_FAILURES_PER_MINUTE")
    return ApiError(401, "unauthorized", "device token is not valid or was revoked")


def require_router() -> RouterIdentity:
    token = _bearer_token()
    with engine().connect() as conn:
        router = authenticate(conn, token)
    if router is None:
        raise _refuse_token()
    return router


@contextmanager
def router_transaction(setting_name: str) -> Iterator[tuple[RouterIdentity, Connection]]:
    """The request's router and one transaction for its work, the request already
    counted against `setting_name` (as `rate_limit`): one connection, one commit.

    A config poll took three (token, count, config): about 22 round trips to the
    database, which cost the admin more CPU than the poll's own work. The count
    is written first, so SQLite's write lock is taken up front. A refused
    request's count is committed before its 429, and before an `ApiError` the
    work raises (which must come before the work writes anything).
    """
    token = _bearer_token()
    try:
        with engine().connect() as conn:
            router = authenticate(conn, token)
            if router is None:
                conn.rollback()
                raise _refuse_token()
            key = f"{API_KEY_PREFIX}{setting_name}:{router.router_id}"
            wait = shared_hit(conn, key, setting(setting_name))
            if wait is not None:
                conn.commit()
                raise ApiError(429, "rate_limited", "too many requests", retry_after=wait)
            try:
                yield router, conn
            except ApiError:  # a refused body still counts (the work refuses before it writes)
                conn.commit()
                raise
            conn.commit()
    except OperationalError as exc:  # database locked / unreachable: come back later
        raise busy("the database is busy; retry later") from exc


def parse_json(raw: bytes, *, element_level: int | None = None) -> Any:
    """`raw` parsed, refusing more than `bounds.MAX_DEPTH` levels before parsing.

    With `element_level` (the events array's level: 2 in ``{"events": [...]}``)
    a too-deep event is named by its index (422, so the agent parks that
    event alone); otherwise, or when none can be named, 400.
    """
    if bounds.json_depth(raw) > bounds.MAX_DEPTH:
        index = None
        if element_level is not None:
            index = bounds.too_deep_element(raw, bounds.MAX_DEPTH - element_level)
        message = f"JSON nests deeper than {bounds.MAX_DEPTH} levels"
        if index is not None:
            raise ApiError(422, "invalid_event", message, extra={"index": index})
        raise ApiError(400, "too_deep", message)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "bad_json", "body is not valid JSON") from exc


def json_body(max_bytes: int = MAX_BODY, *, element_level: int | None = None) -> Any:
    """The request's JSON, refusing more than `max_bytes` or too deep before parsing."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise ApiError(413, "too_large", f"body larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError(413, "too_large", f"body larger than {max_bytes} bytes")
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    return parse_json(raw, element_level=element_level)
