"""The admin's Prometheus /metrics (issue 18) over real HTTP: only from
loopback or with the configured bearer token; the figures move when a router's
events are ingested (routers online, ingest rate and lateness), a job is
queued and a sign-in fails."""

from __future__ import annotations

import re
from datetime import timedelta

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from synckit import login_event, make_venue

from porchlight.admin.db import utcnow
from porchlight.admin.schema import jobs
from porchlight.events import new_event_id


def scrape(url: str, **headers: str) -> dict[str, float]:
    answer = requests.get(f"{url}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=")
    out = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def _fail_sign_in(url: str) -> None:
    with requests.Session() as browser:
        page = browser.get(f"{url}/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        data = {"email": "nobody@example.com", "password": "wrong-password"}
        if token:
            data["csrf_token"] = token.group(1)
        assert browser.post(f"{url}/login", data=data, timeout=10).status_code == 401


def test_admin_metrics_move_when_events_are_ingested(live_admin, engine: Engine) -> None:
    venue = make_venue(engine)
    before = scrape(live_admin.url)
    assert before["porchlight_admin_ingest_events_per_second"] == 0
    assert before["porchlight_admin_ingest_last_event_age_seconds"] == -1
    assert before["porchlight_admin_jobs{status=queued}"] == 0
    assert before["porchlight_admin_routers{state=never}"] == 1

    auth = {"Authorization": f"Bearer {venue.token}"}
    beat = {"agent_version": "0.1.0", "uptime_seconds": 9, "clients_online": 1, "outbox_depth": 0}
    beat_answer = requests.post(
        f"{live_admin.url}/api/v1/heartbeat", json=beat, headers=auth, timeout=10
    )
    assert beat_answer.status_code == 200, beat_answer.text

    late = (utcnow() - timedelta(seconds=30)).isoformat(timespec="milliseconds")
    events = [login_event(mac="aa:bb:cc:dd:ee:02", occurred_at=late.replace("+00:00", "Z"))]
    events[0]["id"] = new_event_id()
    answer = requests.post(
        f"{live_admin.url}/api/v1/events",
        json={"events": events},
        headers=auth,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    with engine.begin() as conn:
        conn.execute(
            jobs.insert().values(
                tenant_id=venue.tenant_id, kind="export", params={}, created_at=utcnow()
            )
        )
    _fail_sign_in(live_admin.url)

    after = scrape(live_admin.url)
    assert after["porchlight_admin_routers{state=online}"] == 1
    assert after["porchlight_admin_routers{state=never}"] == 0
    assert after["porchlight_admin_ingest_events_per_second"] == 1 / 60
    assert 29 <= after["porchlight_admin_ingest_lag_seconds{quantile=1}"] < 60
    assert 0 <= after["porchlight_admin_ingest_last_event_age_seconds"] < 30
    assert after["porchlight_admin_jobs{status=queued}"] == 1
    assert (
        after["porchlight_admin_signin_failures"] == before["porchlight_admin_signin_failures"] + 1
    )


def test_admin_metrics_only_for_loopback_or_the_bearer_token(live_admin) -> None:
    app = live_admin.app
    client = app.test_client()
    away = {"REMOTE_ADDR": "203.0.113.5"}
    assert client.get("/metrics", environ_base=away).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    # nginx on this box, PROXY_COUNT not set: the peer is loopback, the client is not
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", headers=forwarded).status_code == 403
    app.config["METRICS_TOKEN"] = "s3cret-token-for-prometheus"
    try:
        good = {"Authorization": "Bearer s3cret-token-for-prometheus"}
        bad = {"Authorization": "Bearer guessed"}
        assert client.get("/metrics", environ_base=away, headers=good).status_code == 200
        assert client.get("/metrics", environ_base=away, headers=bad).status_code == 403
    finally:
        app.config["METRICS_TOKEN"] = ""


def test_migration_0010_indexes_the_ingest_ledger_by_arrival(tmp_path) -> None:
    import sqlalchemy as sa

    from porchlight.admin import migrate
    from porchlight.admin.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        migrate.upgrade(engine, "head")
        since = "SELECT count(*) FROM sync_events WHERE received_at >= '2026-01-01'"
        with engine.connect() as conn:
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + since))
        assert "ix_sync_events_received_at" in plan
        migrate.downgrade(engine, "0009")
        names = {i["name"] for i in sa.inspect(engine).get_indexes("sync_events")}
        assert "ix_sync_events_received_at" not in names
    finally:
        engine.dispose()
