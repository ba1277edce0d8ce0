"""visit_hours (the dashboard's rollup) stays equal to a recount of visits.

Checked after ingest from a router, a merge, an erasure and a seed, and the
dashboard's visits per day and busiest hours are the same as counted from
the visits themselves (UTC+7, like Vietnam and Thailand).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.customers import visit_rollup
from porchlight.admin.customers.merge import merge_customers
from porchlight.admin.dashboard import collect
from porchlight.admin.sync.enrollment import RouterIdentity, create_router, enroll
from porchlight.admin.sync.ingest import ingest_batch, write_transaction
from porchlight.events import new_event_id, validate_event


def rollup(engine):
    vh = schema.visit_hours
    with engine.connect() as conn:
        return {
            (r.tenant_id, r.location_id, r.hour): r.visits
            for r in conn.execute(sa.select(vh)).all()
            if r.visits
        }


def recount(engine):
    v = schema.visits
    with engine.connect() as conn:
        rows = conn.execute(sa.select(v.c.tenant_id, v.c.location_id, v.c.started_at)).all()
    return dict(
        Counter((r.tenant_id, r.location_id, visit_rollup.epoch_hour(r.started_at)) for r in rows)
    )


def login(phone: str, when: datetime, channel: str = "form") -> dict:
    return validate_event(
        {
            "id": new_event_id(),
            "type": "login",
            "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "mac": "aa:bb:cc:dd:ee:01",
            "data": {
                "session_id": uuid.uuid4().hex,
                "channel": channel,
                "name": "Lan",
                "phone": phone,
                "email": None,
                "tags": ["wifi"],
                "consents": [{"purpose": "wifi", "granted": True, "text_version": "wifi-v1"}],
                "device": {"ip": "10.0.0.5", "hostname": "phone", "randomized": True},
            },
        }
    )


def expected_days_hours(engine, tenant_id, start, offset):
    v = schema.visits
    with engine.connect() as conn:
        times = conn.execute(
            sa.select(v.c.started_at).where(v.c.tenant_id == tenant_id, v.c.started_at >= start)
        ).scalars()
        local = [t + timedelta(minutes=offset) for t in times]
    return Counter(t.date() for t in local), Counter(t.hour for t in local)


@pytest.mark.both_dbs
def test_rollup_follows_ingest_merge_and_erase(owner_client, world, factory, csrf, engine):
    now = datetime.now(UTC).replace(microsecond=0)
    a = factory.customer(
        world.tenant_id, "A", "+84911111111", visits=[(world.q1, now - timedelta(hours=5), "form")]
    )
    b = factory.customer(
        world.tenant_id,
        "B",
        "+84922222222",
        visits=[(world.q3, now - timedelta(days=3), "zalo"), (world.q1, now, "click")],
    )
    with engine.begin() as conn:
        _rid, code = create_router(conn, world.q1, "front desk")
        identity, _token = enroll(conn, code)
    router = RouterIdentity(identity.router_id, world.tenant_id, world.q1, "front desk")
    events = [
        login("0933333333", now - timedelta(days=1, minutes=7)),
        login("0933333333", now - timedelta(days=1, minutes=1), "zalo"),
        login("0911111111", now - timedelta(hours=30)),  # A again, through the router
    ]
    with write_transaction(engine, world.tenant_id) as conn:
        ingest_batch(conn, router, events)
    with write_transaction(engine, world.tenant_id) as conn:
        ingest_batch(conn, router, events)  # a replay adds nothing
    assert rollup(engine) == recount(engine)
    assert sum(rollup(engine).values()) == 6

    with engine.begin() as conn:
        merge_customers(conn, world.tenant_id, a, b)
    assert rollup(engine) == recount(engine)

    token = csrf(owner_client, f"/customers/{a}")
    owner_client.post(f"/customers/{a}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert owner_client.get(f"/customers/{a}").status_code == 404
    assert rollup(engine) == recount(engine)
    assert sum(rollup(engine).values()) == 2  # the two router logins of 0933333333

    with engine.begin() as conn:
        visit_rollup.recount(conn)
    assert rollup(engine) == recount(engine)


@pytest.mark.both_dbs
def test_dashboard_days_and_hours_match_the_visits(world, factory, engine):
    now = datetime.now(UTC)
    for i in range(12):
        when = now - timedelta(days=i * 3, hours=i * 5, minutes=i * 7)
        factory.customer(
            world.tenant_id,
            f"C{i}",
            f"+849000000{i:02d}",
            visits=[(world.q1 if i % 2 else world.q3, when, "form")],
        )
    offset = 7 * 60
    with engine.connect() as conn:
        data = collect(conn, world.tenant_id, None, 30, offset)
        one = collect(conn, world.tenant_id, [world.q1], 7, offset)
    start = datetime.combine(data["first_day"], datetime.min.time(), UTC) - timedelta(
        minutes=offset
    )
    days, hours = expected_days_hours(engine, world.tenant_id, start, offset)
    assert data["per_day"] == [(d, days.get(d, 0)) for d, _n in data["per_day"]]
    assert data["per_hour"] == [(h, hours.get(h, 0)) for h in range(24)]
    assert data["visits"] == sum(days.values())
    assert one["visits"] == sum(n for _d, n in one["per_day"])


@pytest.mark.both_dbs
def test_seed_fills_the_rollup(engine):
    from porchlight.admin.seed import seed

    seed(engine, 40, 200, 3, tenant="rollup-seed", rng_seed=3)
    assert rollup(engine) == recount(engine)
    assert sum(rollup(engine).values()) == 200


@pytest.mark.both_dbs
def test_seed_keeps_the_name_search_index(engine):
    from porchlight.admin.seed import seed

    if engine.dialect.name != "postgresql":
        pytest.skip("pg_trgm is PostgreSQL only")
    seed(engine, 20, 50, 2, tenant="trgm-seed", rng_seed=4)
    with engine.connect() as conn:
        names = set(
            conn.execute(
                sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'customers'")
            ).scalars()
        )
    assert "ix_customers_search_doc_trgm" in names  # migration 0014's
