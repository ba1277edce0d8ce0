"""`GET /metrics`: the admin's figures in Prometheus's text format.

Only for loopback (after the trusted proxies' X-Forwarded-For, so a client
behind the proxy is not loopback; a forwarded request with no proxy trusted is
refused, as its client is somewhere else) or with ``Authorization: Bearer TOKEN``
when ``PORCHLIGHT_ADMIN_METRICS_TOKEN`` is set. Every figure is read from the
database at scrape time, so two admin processes and their workers report the
same numbers: routers online/stale/never seen, events ingested in the last
minute and how late they arrived, jobs queued/running and the oldest queued
one's wait, failed sign-ins in the limit window.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.db import get_engine, utcnow

bp = Blueprint("metrics", __name__)

INGEST_WINDOW = timedelta(seconds=60)
LAG_SAMPLE = 10_000  # newest events of the window whose lateness is measured


def allowed() -> bool:
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer "):
        return hmac.compare_digest(given[7:].strip().encode(), token.encode())
    proxied = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    if proxied and not current_app.config.get("PROXY_COUNT"):
        return False  # a proxy on this box that the admin was not told to trust: its client
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False  # a Unix socket without a proxy in front: no address to trust


@bp.route("/metrics")
def metrics() -> Response:
    if not allowed():
        return Response("metrics: loopback or a bearer token only\n", 403, mimetype="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    with get_engine().connect() as conn:
        registry.register(AdminCollector(conn, utcnow(), current_app.config))
        body = generate_latest(registry)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def _value(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class AdminCollector(Collector):
    def __init__(self, conn: Connection, now: datetime, config: dict[str, object]) -> None:
        self.conn = conn
        self.now = now
        self.config = config

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield self._routers()
        yield from self._ingest()
        yield from self._jobs()
        yield self._signins()

    def _routers(self) -> GaugeMetricFamily:
        r = schema.routers.c
        stale = int(str(self.config.get("ROUTER_STALE_SECONDS", 180)))
        fresh = self.now - timedelta(seconds=stale)
        state = sa.case(
            (r.last_seen_at.is_(None), "never"),
            (r.last_seen_at >= fresh, "online"),
            else_="stale",
        )
        rows = self.conn.execute(
            sa.select(state, sa.func.count())
            .where(r.enrolled_at.is_not(None), r.revoked_at.is_(None))
            .group_by(state)
        ).all()
        counts = {"online": 0, "stale": 0, "never": 0} | {row[0]: row[1] for row in rows}
        family = _gauge(
            "porchlight_admin_routers",
            f"Enrolled routers: online (heard from in {stale} s), stale, never seen",
            ["state"],
        )
        for name, count in counts.items():
            family.add_metric([name], count)
        return family

    def _ingest(self) -> Iterator[GaugeMetricFamily]:
        e = schema.sync_events.c
        since = self.now - INGEST_WINDOW
        rows = self.conn.execute(
            sa.select(e.occurred_at, e.received_at)
            .where(e.received_at >= since)
            .order_by(e.received_at.desc())
            .limit(LAG_SAMPLE)
        ).all()
        count = len(rows)
        if count == LAG_SAMPLE:
            count = self.conn.execute(
                sa.select(sa.func.count()).where(e.received_at >= since)
            ).scalar_one()
        newest = self.conn.execute(sa.select(sa.func.max(e.received_at))).scalar()
        yield _value(
            "porchlight_admin_ingest_events_per_second",
            "Router events applied per second over the last minute",
            count / INGEST_WINDOW.total_seconds(),
        )
        lags = sorted(max(0.0, (row.received_at - row.occurred_at).total_seconds()) for row in rows)
        lag = _gauge(
            "porchlight_admin_ingest_lag_seconds",
            "How late events of the last minute arrived (occurred to applied)",
            ["quantile"],
        )
        if lags:
            lag.add_metric(["0.5"], lags[len(lags) // 2])
            lag.add_metric(["1"], lags[-1])
        yield lag
        yield _value(
            "porchlight_admin_ingest_last_event_age_seconds",
            "Seconds since the newest event was applied (-1: none yet)",
            (self.now - newest).total_seconds() if newest else -1.0,
        )

    def _jobs(self) -> Iterator[GaugeMetricFamily]:
        j = schema.jobs.c
        rows = self.conn.execute(
            sa.select(j.status, sa.func.count(), sa.func.min(j.created_at))
            .where(j.status.in_(["queued", "running"]))
            .group_by(j.status)
        ).all()
        found = {row[0]: (row[1], row[2]) for row in rows}
        jobs = _gauge("porchlight_admin_jobs", "Import/export jobs waiting or running", ["status"])
        for status in ("queued", "running"):
            jobs.add_metric([status], found.get(status, (0, None))[0])
        yield jobs
        oldest = found.get("queued", (0, None))[1]
        wait = (self.now - oldest).total_seconds() if oldest else 0.0
        yield _value(
            "porchlight_admin_jobs_oldest_queued_seconds",
            "How long the oldest queued job waits",
            max(0.0, wait),
        )

    def _signins(self) -> GaugeMetricFamily:
        rl = schema.rate_limits.c
        window = int(str(self.config.get("LOGIN_LIMIT_WINDOW_SECONDS", 900)))
        failed = self.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(rl.count), 0)).where(
                rl.key.startswith("login-ip:"),
                rl.window_start >= self.now - timedelta(seconds=window),
            )
        ).scalar_one()
        return _value(
            "porchlight_admin_signin_failures",
            f"Failed sign-ins counted by the limits' {window} s windows now running",
            failed,
        )
