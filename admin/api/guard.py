"""What every sync API request passes first: token, rate limits, body limits.

Errors are JSON ``{"error": CODE, "message": TEXT}`` raised as `ApiError` and
turned into a response by the blueprint. Rate limits are per app (worker process)
and per key (router id, or client address for enrollment) in fixed one-minute
windows; a refused request gets ``429`` with ``Retry-After`` = seconds to the
next window, and the agent backs off with jitter on top of it.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from typing import Any

from flask import current_app, request
from sqlalchemy.engine import Engine

from porchlight.admin.enrollment import RouterIdentity, authenticate

MAX_BODY = 1024 * 1024  # docs/protocols.md section 2
DEFAULT_LIMITS = {
    "API_EVENTS_PER_MINUTE": 600,  # batches per router (500 events each)
    "API_POLLS_PER_MINUTE": 120,  # config + heartbeat + acks per router
    "API_ENROLL_PER_MINUTE": 10,  # enrollment attempts per client address
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


class WindowLimiter:
    """Fixed-window counters in memory (one per worker process)."""

    def __init__(self, window: float = 60.0) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, limit: int) -> int | None:
        """Count one request; None when allowed, else seconds to wait."""
        now = time.monotonic()
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= limit:
                return max(1, math.ceil(self.window - (now - start)))
            self._counts[key] = (start, count + 1)
            if len(self._counts) > 100_000:  # forget idle keys
                cutoff = now - self.window
                self._counts = {k: v for k, v in self._counts.items() if v[0] >= cutoff}
            return None


_INIT_LOCK = threading.Lock()


def _per_app(name: str, factory: Any) -> Any:
    extensions = current_app.extensions
    with _INIT_LOCK:
        if name not in extensions:
            extensions[name] = factory()
        return extensions[name]


def rate_limit(key: str, setting_name: str) -> None:
    limiter: WindowLimiter = _per_app("porchlight.api_limiter", WindowLimiter)
    wait = limiter.hit(f"{setting_name}:{key}", setting(setting_name))
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


def require_router() -> RouterIdentity:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "a device token is required (Authorization: Bearer)")
    with engine().connect() as conn:
        router = authenticate(conn, token.strip())
    if router is None:
        raise ApiError(401, "unauthorized", "device token is not valid or was revoked")
    return router


def json_body(max_bytes: int = MAX_BODY) -> Any:
    """The request's JSON, refusing more than `max_bytes` before parsing."""
    length = request.content_length
    if length is not None and length > max_bytes:
        raise ApiError(413, "too_large", f"body larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError(413, "too_large", f"body larger than {max_bytes} bytes")
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", "body is not valid JSON") from exc
