"""Per-request helpers: the portal's shared objects, the guest's IP, language, own URL."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, request

from porchlight.portal.agent_link import AgentLink
from porchlight.portal.i18n import LANGUAGES, choose_language
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
    return str(request.remote_addr or "")


def guest_language(config: dict[str, Any], form_lang: str | None = None) -> str:
    requested = request.args.get("lang") or form_lang
    location = config.get("location") or {}
    return choose_language(
        requested,
        request.cookies.get(LANG_COOKIE),
        request.headers.get("Accept-Language"),
        str(location.get("country") or ""),
    )


def _local_address() -> tuple[str, int] | None:
    sock = request.environ.get("gunicorn.socket")
    if sock is None:
        return None
    try:
        address = sock.getsockname()
    except OSError:
        return None
    if sock.family == socket.AF_INET6:
        return f"[{address[0]}]", int(address[1])
    return str(address[0]), int(address[1])


def portal_base_url() -> str:
    """The portal's own URL without the trailing slash: config, else the address reached."""
    configured = current_app.config.get("PORTAL_URL")
    if configured:
        return str(configured).rstrip("/")
    local = _local_address()
    if local is None:
        name = request.environ.get("SERVER_NAME", "localhost")
        port = int(request.environ.get("SERVER_PORT") or 80)
        local = (name, port)
    host, port = local
    return f"http://{host}" if port == 80 else f"http://{host}:{port}"


def own_hosts() -> set[str]:
    hosts = {urlsplit(portal_base_url()).netloc.lower()}
    local = _local_address()
    if local is not None:
        hosts.add(f"{local[0]}:{local[1]}".lower())
        if local[1] == 80:
            hosts.add(local[0].lower())
    hosts.update(h.lower() for h in current_app.config.get("PORTAL_HOSTS") or [])
    return hosts


def is_portal_host() -> bool:
    return request.host.lower() in own_hosts()


def safe_lang(value: str | None) -> str | None:
    return value if value in LANGUAGES else None
