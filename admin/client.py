"""The client behind a request: its address, and where it may be sent back to.

- `client_ip()` — the address as the WSGI server saw it (after ProxyFix when proxied).
- `safe_next(target, default)` — a local path to redirect to (no open redirects).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def client_ip() -> str | None:
    """The client's address as the WSGI server saw it (run behind ProxyFix if proxied)."""
    return request.remote_addr if request else None
