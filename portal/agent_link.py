"""The portal's view of the agent: the location config (cached) and clients by IP.

Everything goes through `porchlight.agent_client.AgentClient` (protocols.md
section 1); the portal never touches the firewall itself.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
import json
import logging
import threading
import time
from typing import Any

from porchlight.agent_client import AgentClient, AgentError, AgentUnavailable
from porchlight.guest_page import guest_form

log = logging.getLogger(__name__)

AUTHORIZED_STATES = ("authorized", "trusted")

# What the page shows while the agent cannot be asked (it also says so).
FALLBACK_CONFIG: dict[str, Any] = {
    "location": {"id": 0, "name": "Wi-Fi", "country": "VN", "timezone": "UTC"},
    "portal": {
        "venue_name": "Wi-Fi",
        "logo_url": None,
        "colors": {},
        "welcome": {},
        "channels": ["click"],
        "fields": {},
        "consents": [],
        "success_url": None,
    },
    "tags": [],
}


class AgentLink:
    def __init__(
        self,
        socket_path: str,
        *,
        timeout: float = 2.0,
        config_ttl: float = 10.0,
        client_ttl: float = 0.0,
    ) -> None:
        self.client = AgentClient(socket_path, timeout=timeout)
        self.config_ttl = config_ttl
        self.client_ttl = client_ttl
        self._lock = threading.Lock()
        self._config: dict[str, Any] | None = None
        self._config_at = 0.0
        self._config_tag = ""
        self._clients: dict[str, tuple[float, dict[str, Any] | None]] = {}

    def config(self, *, fresh: bool = False) -> dict[str, Any]:
        """The location config; a stale copy if the agent stops answering.

        Each worker process keeps its own copy for `config_ttl` seconds, so a page
        one worker rendered from a new config can be posted to another still
        holding the old one: `fresh` asks the agent again (see `config_tag`).
        Raises AgentUnavailable only when there has never been an answer.
        """
        now = time.monotonic()
        with self._lock:
            if self._config is not None and now - self._config_at < self.config_ttl and not fresh:
                return self._config
        try:
            answer = self.client.call("config")
        except (AgentUnavailable, AgentError) as exc:
            with self._lock:
                if self._config is not None:
                    log.warning("agent config unavailable (%s); using the cached one", exc)
                    return self._config
            if isinstance(exc, AgentError):
                raise AgentUnavailable(f"agent refused config: {exc}") from exc
            raise
        config = answer.get("config")
        if not isinstance(config, dict):
            raise AgentUnavailable("agent sent no config")
        tag = hashlib.sha256(
            json.dumps(config, sort_keys=True, separators=(",", ":"), default=str).encode()
        ).hexdigest()[:16]
        with self._lock:
            self._config, self._config_at, self._config_tag = config, now, tag
        return config

    def config_tag(self) -> str:
        """A short digest of the cached config: the login form carries the one it was
        rendered from, and a post with another tag is checked against a fresh config."""
        with self._lock:
            return self._config_tag

    def config_for_post(
        self, sent_tag: str | None, channel: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """The config to check a posted form against: the cached one when the form was
        rendered from it, else the agent's current one. A post with no tag (a plain
        HTTP client) is checked afresh when the cached config lacks its channel."""
        config, reachable = self.config_or_fallback()
        stale = sent_tag and sent_tag != self.config_tag()
        if not sent_tag and channel and channel not in ("returning", *guest_form.channels(config)):
            stale = True
        if reachable and stale:
            try:
                return self.config(fresh=True), True
            except AgentUnavailable:
                pass
        return config, reachable

    def config_or_fallback(self) -> tuple[dict[str, Any], bool]:
        """(config, True) or (the fallback config, False) when the agent is down."""
        try:
            return self.config(), True
        except AgentUnavailable:
            return copy.deepcopy(FALLBACK_CONFIG), False

    def client_for_ip(self, ip: str, *, fresh: bool = False) -> dict[str, Any] | None:
        """The agent's client record for `ip`, None when it knows no such client."""
        ip = guest_address(ip)
        now = time.monotonic()
        if self.client_ttl > 0 and not fresh:
            with self._lock:
                cached = self._clients.get(ip)
            if cached is not None and now - cached[0] < self.client_ttl:
                return cached[1]
        try:
            answer = self.client.call("client_for_ip", ip=ip)
        except AgentError as exc:
            if exc.code != "not_found":
                raise
            found = None
        else:
            found = answer.get("client") if isinstance(answer.get("client"), dict) else None
        if self.client_ttl > 0:
            with self._lock:
                if len(self._clients) > 10000:
                    self._clients.clear()
                self._clients[ip] = (now, found)
        return found

    def forget(self, ip: str) -> None:
        with self._lock:
            self._clients.pop(guest_address(ip), None)

    def authorize(self, mac: str, ip: str, login: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.call("authorize", mac=mac, ip=guest_address(ip), login=login)
        self.forget(ip)
        session = answer.get("session")
        return session if isinstance(session, dict) else {}


def guest_address(raw: str) -> str:
    """The client's IP as the agent knows it (``::ffff:10.0.0.5`` -> ``10.0.0.5``)."""
    if raw.startswith("::ffff:"):
        try:
            mapped = ipaddress.IPv6Address(raw).ipv4_mapped
        except ValueError:
            return raw
        if mapped is not None:
            return str(mapped)
    return raw


def is_online(client: dict[str, Any] | None) -> bool:
    return client is not None and client.get("state") in AUTHORIZED_STATES
