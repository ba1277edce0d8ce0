"""Per-request helpers: the portal's shared objects, the guest's IP, language, own URL."""

from __future__ import annotations

import functools
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request

from porchlight.guest_page.i18n import LANGUAGES, choose_language
from porchlight.portal.agent_link import AgentLink, guest_address
from porchlight.portal.ratelimit import RateLimiter
from porchlight.portal.tokens import FormTokens

LANG_COOKIE = "pl_lang"


@dataclass
class PortalState:
    agent: AgentLink
    tokens: FormTokens
    limiter: RateLimiter
    mac_rate: tuple[int, int]
    ip_rate: tuple[int, int]
    logos: dict[str, tuple[str, bytes]]


def state() -> PortalState:
    found: PortalState = current_app.extensions["porchlight_portal"]
    return found


def client_ip() -> str:
    """The guest's address as the socket saw it (no proxy headers are trusted)."""
    return guest_address(str(request.remote_addr or ""))


def guest_language(config: dict[str, Any], form_lang: str | None = None) -> str:
    requested = request.args.get("lang") or form_lang
    location = config.get("location") or {}
    return choose_language(
        requested,
        request.cookies.get(LANG_COOKIE),
        request.headers.get("Accept-Language"),
        str(location.get("country") or ""),
    )


def _local_address(environ: Mapping[str, Any]) -> tuple[str, int] | None:
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return None
    try:
        address = sock.getsockname()
    except OSError:
        return None
    if sock.family == socket.AF_INET6:
        return f"[{address[0]}]", int(address[1])
    return str(address[0]), int(address[1])


def base_url_for(environ: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """The portal's own URL without the trailing slash: config, else the address reached.

    Never from the Host header: requests arrive with the host the guest asked for.
    """
    configured = config.get("PORTAL_URL")
    if configured:
        return str(configured).rstrip("/")
    local = _local_address(environ)
    if local is None:  # not under gunicorn (werkzeug's server, tests)
        local = (
            str(environ.get("SERVER_NAME", "localhost")),
            int(environ.get("SERVER_PORT") or 80),
        )
    return _url_for_address(*local)


@functools.lru_cache(maxsize=64)
def _url_for_address(host: str, port: int) -> str:
    return f"http://{host}" if port == 80 else f"http://{host}:{port}"


def host_is_portal(environ: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
    host = str(environ.get("HTTP_HOST") or "").lower()
    if host == urlsplit(base_url_for(environ, config)).netloc.lower():
        return True
    local = _local_address(environ)
    if local is not None and host in (f"{local[0]}:{local[1]}", local[0] if local[1] == 80 else ""):
        return True
    return host in [h.lower() for h in config.get("PORTAL_HOSTS") or []]


def portal_base_url() -> str:
    return base_url_for(request.environ, current_app.config)


def is_portal_host() -> bool:
    return host_is_portal(request.environ, current_app.config)


def safe_lang(value: str | None) -> str | None:
    return value if value in LANGUAGES else None
