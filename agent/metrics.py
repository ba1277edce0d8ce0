"""`agent run --metrics 127.0.0.1:PORT`: the agent's figures in Prometheus's text format.

Served on loopback only (never on the guest LAN): a collector reads the store
on each scrape through its own read-only connection, so a scrape never takes
the gate's lock or stalls a login. Counters and histograms (authorizations,
their latency, reconcile time) are fed by the API and the reconcile loop.
Imported only when ``--metrics`` is given (prometheus_client costs memory).
"""

from __future__ import annotations

import ipaddress
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from porchlight.agent import sessions
from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

PENDING_SECONDS = 600  # a client seen in the last 10 minutes without a session is pending
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT (or [::1]:PORT) on a loopback address; PorchlightError otherwise."""
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    try:
        port = int(port_text)
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise PorchlightError(
            f"--metrics {text!r} is not HOST:PORT (e.g. 127.0.0.1:9101)"
        ) from None
    if not sep or not 1 <= port <= 65535:
        raise PorchlightError(f"--metrics {text!r} is not HOST:PORT (e.g. 127.0.0.1:9101)")
    if not loopback:
        raise PorchlightError(
            f"--metrics {host} is not a loopback address: the metrics never face the guest LAN"
        )
    return host, port


def parse_range(text: str) -> int:
    """FIRST,LAST -> how many addresses the DHCP range holds."""
    try:
        first, last = (ipaddress.IPv4Address(part.strip()) for part in text.split(","))
    except ValueError:
        raise PorchlightError(f"--dhcp-range {text!r} is not FIRST,LAST") from None
    if last < first:
        raise PorchlightError(f"--dhcp-range {text!r}: LAST comes before FIRST")
    return int(last) - int(first) + 1


class StoreCollector(Collector):
    """Gauges read from the store (and dnsmasq's lease file) at scrape time."""

    def __init__(self, store: Path, leases: Path | None, range_size: int | None) -> None:
        self.store = store
        self.leases = leases
        self.range_size = range_size

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = time.time()
        conn = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=2)
        try:
            online, pending, depth, parked = _counts(conn, now)
        finally:
            conn.close()
        clients = GaugeMetricFamily(
            "porchlight_agent_clients",
            "Clients by state (pending: seen, not logged in)",
            labels=["state"],
        )
        clients.add_metric(["online"], online)
        clients.add_metric(["pending"], pending)
        yield clients
        yield GaugeMetricFamily(
            "porchlight_agent_outbox_depth", "Events waiting to be sent to the admin", value=depth
        )
        yield GaugeMetricFamily(
            "porchlight_agent_parked_events", "Events the admin refused (kept aside)", value=parked
        )
        if self.leases is not None:
            yield GaugeMetricFamily(
                "porchlight_agent_dhcp_leases",
                "DHCP leases in use",
                value=_lease_count(self.leases),
            )
        if self.range_size is not None:
            yield GaugeMetricFamily(
                "porchlight_agent_dhcp_range_size",
                "Addresses in the DHCP range",
                value=self.range_size,
            )


def _counts(conn: sqlite3.Connection, now: float) -> tuple[int, int, int, int]:
    stamp = sessions.iso(now)
    online = conn.execute(
        "SELECT count(*) FROM sessions WHERE ended_at IS NULL AND expires_at > ?", [stamp]
    ).fetchone()[0]
    pending = conn.execute(
        "SELECT count(*) FROM clients c WHERE c.last_seen >= ? AND NOT EXISTS (SELECT 1 "
        "FROM sessions s WHERE s.mac = c.mac AND s.ended_at IS NULL AND s.expires_at > ?)",
        [sessions.iso(now - PENDING_SECONDS), stamp],
    ).fetchone()[0]
    depth = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    parked = conn.execute("SELECT count(*) FROM parked_events").fetchone()[0]
    return int(online), int(pending), int(depth), int(parked)


def _lease_count(path: Path) -> int:
    """dnsmasq's lease file: one lease a line (``duid`` lines are not leases)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return sum(1 for line in handle if line.strip() and not line.startswith("duid "))
    except FileNotFoundError:
        return 0


class AgentMetrics:
    """The registry, fed by `observe` (API actions) and `reconciled` (the loop)."""

    def __init__(
        self, store: Path, *, leases: Path | None = None, range_size: int | None = None
    ) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.registry.register(StoreCollector(store, leases, range_size))
        self.authorizations = Counter(
            "porchlight_agent_authorizations",
            "Logins the agent was asked to authorize, by result",
            ["result"],
            registry=self.registry,
        )
        self.authorize_seconds = Histogram(
            "porchlight_agent_authorize_seconds",
            "Time to authorize a login (the API action, lock wait included)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.reconcile_seconds = Histogram(
            "porchlight_agent_reconcile_seconds",
            "Time of one reconcile round (store against the kernel's sets)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._server: Any = None
        self.port = 0

    def observe(self, action: str, seconds: float, ok: bool) -> None:
        if action == "authorize":
            self.authorizations.labels("ok" if ok else "refused").inc()
            self.authorize_seconds.observe(seconds)

    def reconciled(self, seconds: float) -> None:
        self.reconcile_seconds.observe(seconds)

    def serve(self, host: str, port: int) -> None:
        self._server, _thread = start_http_server(port, host, registry=self.registry)
        self.port = int(self._server.server_port)  # the one the kernel chose for port 0
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
