"""A small JSON-over-HTTPS client for the admin's sync API (stdlib only).

One kept-alive connection (`http.client`), a timeout on every request,
certificate checks by default (optionally against the CA file in
``admin.json``). Plain ``http://`` is refused unless the host is loopback or
the operator passed ``--insecure`` at enrollment.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from porchlight import __version__
from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

USER_AGENT = f"porchlight-agent/{__version__}"
MAX_ANSWER = 8 * 1024 * 1024


class AdminUnreachable(PorchlightError):
    """No answer from the admin (refused, reset, timed out, TLS failure)."""


@dataclass
class AdminResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_admin_url(url: str, *, insecure: bool = False) -> str:
    """The admin base URL without a trailing slash, or raise for unsafe ones."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PorchlightError(f"admin URL must look like https://admin.example.com, not {url!r}")
    if parts.scheme == "http" and not insecure and not is_loopback(parts.hostname):
        raise PorchlightError(
            "refusing plain http to a remote admin: the device token would travel in clear",
            hint="use https:// (or --insecure on a trusted lab network)",
        )
    if parts.query or parts.fragment:
        raise PorchlightError("admin URL must not have a query or fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class AdminClient:
    """Requests to one admin, reusing one connection; not thread-safe."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 15.0,
        ca_file: str | None = None,
        insecure: bool = False,
    ) -> None:
        self.base_url = check_admin_url(base_url, insecure=insecure)
        parts = urlsplit(self.base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.prefix = parts.path
        self.token = token
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=ca_file) if self.https else None
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self.https:
                self._conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=self.context
                )
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> AdminResponse:
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        for attempt in (1, 2):  # a kept-alive connection the server closed: reconnect once
            conn = self._connection()
            try:
                conn.request(method, self.prefix + path, body=body, headers=all_headers)
                answer = conn.getresponse()
                data = answer.read(MAX_ANSWER + 1)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                # A stale kept-alive connection shows as RemoteDisconnected
                # before anything was processed: retry that once.
                if attempt == 2 or not isinstance(exc, http.client.RemoteDisconnected):
                    raise AdminUnreachable(f"admin closed the connection: {exc}") from exc
                continue
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise AdminUnreachable(f"cannot reach the admin at {self.base_url}: {exc}") from exc
            if len(data) > MAX_ANSWER:
                self.close()
                raise AdminUnreachable("admin answer too large")
            if answer.getheader("Connection", "").lower() == "close" or answer.will_close:
                self.close()
            return AdminResponse(
                answer.status, {k.lower(): v for k, v in answer.getheaders()}, data
            )
        raise AdminUnreachable("admin closed the connection")  # pragma: no cover

    def post_json(self, path: str, payload: Any) -> AdminResponse:
        return self.request("POST", path, json.dumps(payload, ensure_ascii=False).encode())
