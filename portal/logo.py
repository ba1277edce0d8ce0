"""The venue's logo, served by the portal itself (guests cannot reach the admin yet).

`portal.logo_url` in the location config is either a ``data:image/...;base64``
URI or an http(s) URL the portal fetches once (bounded size and type) and keeps
in memory. SVG is refused: it can carry script.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import urllib.request
from typing import Any

from porchlight.portal.context import state

log = logging.getLogger(__name__)

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")


def logo_url(config: dict[str, Any]) -> str | None:
    value = (config.get("portal") or {}).get("logo_url")
    return value if isinstance(value, str) and value else None


def logo_src(config: dict[str, Any]) -> str | None:
    """The page's ``<img src>`` for the logo, or None when there is none."""
    url = logo_url(config)
    if url is None:
        return None
    return "/logo?v=" + hashlib.sha256(url.encode()).hexdigest()[:12]


def _decode_data_uri(url: str, limit: int) -> tuple[str, bytes] | None:
    header, _, payload = url[5:].partition(",")
    content_type = header.split(";")[0].lower()
    if content_type not in IMAGE_TYPES or ";base64" not in header:
        return None
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
    return (content_type, data) if len(data) <= limit else None


def _fetch(url: str, limit: int) -> tuple[str, bytes] | None:
    if not url.startswith(("http://", "https://")):
        return None
    request = urllib.request.Request(url, headers={"User-Agent": "porchlight-portal"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (http/https only)
            content_type = response.headers.get_content_type()
            data = response.read(limit + 1)
    except OSError as exc:
        log.warning("cannot fetch the venue logo %s: %s", url, exc)
        return None
    if content_type not in IMAGE_TYPES or len(data) > limit:
        log.warning("venue logo %s refused (%s, %d bytes)", url, content_type, len(data))
        return None
    return content_type, data


def load_logo(config: dict[str, Any], limit: int) -> tuple[str, bytes] | None:
    url = logo_url(config)
    if url is None:
        return None
    cache = state().logos
    if url in cache:
        return cache[url]
    found = _decode_data_uri(url, limit) if url.startswith("data:") else _fetch(url, limit)
    if found is not None:
        if len(cache) > 8:
            cache.clear()
        cache[url] = found
    return found
