"""Ingest of router events into the admin store, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from synckit import Venue, count, end_event, login_event, make_venue

from porchlight.admin.schema import customers, locations, visits
from porchlight.admin.sync.enrollment import RouterIdentity, create_router, enroll
from porchlight.admin.sync.ingest import ingest_batch, write_transaction
from porchlight.events import new_event_id, parse_time, validate_event


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def store(request: pytest.FixtureRequest) -> Engine:
    if request.param == "sqlite":
        return request.getfixturevalue("engine")
    return request.getfixturevalue("pg_engine")


def _router(v: Venue) -> RouterIdentity:
    return RouterIdentity(v.router_id, v.tenant_id, v.location_id, "front desk")


def _ingest(engine: Engine, v: Venue, events: list[dict]) -> dict:
    clean = [validate_event(e) for e in events]
    with write_transaction(engine, v.tenant_id) as conn:
        result = ingest_batch(conn, _router(v), clean)
    return {"acked": result.acked, "duplicates": result.duplicates, "visits": result.visits}


def _customers(engine: Engine, v: Venue) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(customers)
            .where(customers.c.tenant_id == v.tenant_id)
            .order_by(customers.c.id)
        ).all()


def test_login_creates_customer_visit_counters_and_consents(store: Engine) -> None:
    v = make_venue(store)
    event = login_event(
        "0912 345 678", occurred_at="2026-11-25T03:00:00.000Z", tags=["wifi", "vip"]
    )
    result = _ingest(store, v, [event])
    assert result == {"acked": [event["id"]], "duplicates": 0, "visits": 1}
    (customer,) = _customers(store, v)
    assert customer.phone == "+84912345678"
    assert customer.name == "Lan"
    assert customer.visit_count == 1
    assert customer.last_channel == "form"
    assert customer.last_location_id == v.location_id
    assert customer.first_visit_at == datetime(2026, 11, 25, 3, tzinfo=UTC)
    where = "customer_id = :c"
    assert count(store, "customer_locations", where + " AND visit_count = 1", c=customer.id) == 1
    assert count(store, "customer_channels", where + " AND channel = 'form'", c=customer.id) == 1
    assert count(store, "customer_tags", where, c=customer.id) == 2
    assert count(store, "devices", where + " AND mac = 'aa:bb:cc:dd:ee:01'", c=customer.id) == 1
    assert count(store, "consents", where + " AND text_version = 'wifi-v1'", c=customer.id) == 1
    assert count(store, "sync_events", "id = :i", i=event["id"]) == 1


def test_old_and_new_vietnamese_numbers_are_one_customer_at_two_visits(store: Engine) -> None:
    v = make_venue(store)
    # 0168 (old Viettel) became 038 in 2018: one person, two forms.
    _ingest(store, v, [login_event("01681234567", mac="aa:bb:cc:dd:ee:01")])
    _ingest(store, v, [login_event("+84 38 123 4567", mac="aa:bb:cc:dd:ee:02")])
    (customer,) = _customers(store, v)
    assert customer.phone == "+84381234567"
    assert customer.visit_count == 2
    assert count(store, "devices", "customer_id = :c", c=customer.id) == 2


def test_identity_is_phone_then_email_never_mac(store: Engine) -> None:
    v = make_venue(store)
    same_mac = "aa:bb:cc:dd:ee:09"
    _ingest(
        store,
        v,
        [
            login_event("0912345678", mac=same_mac),
            login_event("0987654321", mac=same_mac),  # another person, same MAC
            login_event(None, email="Mai@Example.com", mac=same_mac),
            login_event(None, email="mai@example.com", mac="aa:bb:cc:dd:ee:0a"),
            login_event(None, email=None, channel="click"),  # anonymous: no customer
        ],
    )
    rows = _customers(store, v)
    assert [(r.phone, r.email, r.visit_count) for r in rows] == [
        ("+84912345678", None, 1),
        ("+84987654321", None, 1),
        (None, "mai@example.com", 2),
    ]


def test_replay_is_acked_but_applied_once(store: Engine) -> None:
    v = make_venue(store)
    batch = [login_event("0912345678"), login_event("0912345678")]
    first = _ingest(store, v, batch)
    second = _ingest(store, v, list(reversed(batch)) + [batch[0]])
    assert first["duplicates"] == 0 and first["visits"] == 2
    assert second["duplicates"] == 3 and second["visits"] == 0
    assert sorted(second["acked"]) == sorted(e["id"] for e in batch)
    (customer,) = _customers(store, v)
    assert customer.visit_count == 2
    assert count(store, "visits", "tenant_id = :t", t=v.tenant_id) == 2


def test_session_end_completes_the_visit_and_clock_skew_is_kept(store: Engine) -> None:
    v = make_venue(store)
    # The router's clock is a year behind the admin's.
    login = login_event("0912345678", occurred_at="2025-01-01T00:00:00.000Z")
    _ingest(store, v, [login])
    end = end_event(login["data"]["session_id"], dwell=1234)
    _ingest(store, v, [end])
    with store.connect() as conn:
        visit = conn.execute(sa.select(visits).where(visits.c.tenant_id == v.tenant_id)).one()
    assert visit.started_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert (datetime.now(UTC) - visit.received_at).total_seconds() < 60
    assert visit.dwell_seconds == 1234 and visit.bytes_in == 1000 and visit.bytes_out == 2000
    assert visit.ended_at == parse_time(end["data"]["ended_at"])


def test_out_of_order_logins_keep_latest_as_last_visit(store: Engine) -> None:
    v = make_venue(store)
    _ingest(store, v, [login_event("0912345678", occurred_at="2026-11-20T00:00:00Z")])
    late = login_event("0912345678", occurred_at="2026-11-10T00:00:00Z", channel="voucher")
    _ingest(store, v, [late])
    (customer,) = _customers(store, v)
    assert customer.visit_count == 2
    assert customer.first_visit_at == datetime(2026, 11, 10, tzinfo=UTC)
    assert customer.last_visit_at == datetime(2026, 11, 20, tzinfo=UTC)
    assert customer.last_channel == "form"  # the newer visit's channel


def test_concurrent_duplicate_batches_apply_once(store: Engine) -> None:
    v = make_venue(store)
    batch = [login_event(f"09123456{i:02d}") for i in range(40)]
    results: list[dict] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            results.append(_ingest(store, v, batch))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert sorted(r["duplicates"] for r in results) == [0, 40, 40, 40]
    assert count(store, "visits", "tenant_id = :t", t=v.tenant_id) == 40
    assert count(store, "customers", "tenant_id = :t", t=v.tenant_id) == 40
    assert count(store, "sync_events", "router_id = :r", r=v.router_id) == 40


def test_two_routers_of_one_tenant_make_one_customer(store: Engine) -> None:
    a = make_venue(store)
    now = datetime.now(UTC)
    with store.begin() as conn:
        loc = conn.execute(
            locations.insert().values(
                tenant_id=a.tenant_id, name="Q3", created_at=now, updated_at=now
            )
        ).inserted_primary_key[0]
        _rid, code = create_router(conn, int(loc), "Q3 router")
        identity, token = enroll(conn, code)
    b = Venue(a.tenant_id, int(loc), identity.router_id, token, a.slug)
    batches = [[login_event("0912345678")] for _ in range(6)]
    threads = [
        threading.Thread(target=_ingest, args=(store, a if i % 2 else b, batch))
        for i, batch in enumerate(batches)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    (customer,) = _customers(store, a)
    assert customer.visit_count == 6
    assert count(store, "customer_locations", "customer_id = :c", c=customer.id) == 2


def _visit_rows(engine: Engine, v: Venue) -> list[tuple]:
    c = visits.c
    with engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.select(
                    c.session_id,
                    c.mac,
                    c.channel,
                    c.started_at,
                    c.ended_at,
                    c.dwell_seconds,
                    c.bytes_in,
                    c.bytes_out,
                )  # fmt: skip
                .where(c.tenant_id == v.tenant_id)
                .order_by(c.started_at)
            )
        ]


def test_session_end_before_its_login_keeps_dwell_and_bytes(store: Engine) -> None:
    """Issue 4's weak point: an end in an earlier batch than its login lost its dwell."""
    first = login_event("0912345678", occurred_at="2026-11-25T10:00:00Z", session_id="s-1")
    second = login_event("0912345678", occurred_at="2026-11-25T12:00:00Z", session_id="s-2")
    ends = [end_event("s-1", dwell=600), end_event("s-2", dwell=1800)]
    in_order, reordered = make_venue(store), make_venue(store)
    # The same guests through another tenant's router: new event ids.
    _ingest(store, in_order, [{**e, "id": new_event_id()} for e in (first, second)])
    _ingest(store, in_order, [{**e, "id": new_event_id()} for e in ends])
    # Reordered: both ends a batch earlier; then one login alone, the other
    # in a batch that lists its own end (a duplicate by then) first.
    assert _ingest(store, reordered, ends)["visits"] == 0
    assert count(store, "pending_session_ends", "router_id = :r", r=reordered.router_id) == 2
    _ingest(store, reordered, [first])
    _ingest(store, reordered, [ends[1], second])
    expected = _visit_rows(store, in_order)
    assert [row[5] for row in expected] == [600, 1800]
    assert _visit_rows(store, reordered) == expected
    assert count(store, "pending_session_ends", "router_id = :r", r=reordered.router_id) == 0
    # Replays of everything change nothing.
    replay = _ingest(store, reordered, [*ends, first, second])
    assert replay["duplicates"] == 4 and replay["visits"] == 0
    assert _visit_rows(store, reordered) == expected
    assert count(store, "pending_session_ends", "router_id = :r", r=reordered.router_id) == 0
    ((visit_count,),) = [(r.visit_count,) for r in _customers(store, reordered)]
    assert visit_count == 2


def test_an_early_end_whose_login_never_comes_is_pruned(store: Engine) -> None:
    from datetime import timedelta

    from porchlight.admin.sync.ingest_ends import PENDING_END_DAYS

    v = make_venue(store)
    _ingest(store, v, [end_event("anonymous-click")])
    assert count(store, "pending_session_ends", "router_id = :r", r=v.router_id) == 1
    later = datetime.now(UTC) + timedelta(days=PENDING_END_DAYS + 1)
    with write_transaction(store, v.tenant_id) as conn:
        ingest_batch(conn, _router(v), [validate_event(end_event("another"))], now=later)
    with store.connect() as conn:
        left = (
            conn.execute(
                sa.text("SELECT session_id FROM pending_session_ends WHERE router_id = :r"),
                {"r": v.router_id},
            )
            .scalars()
            .all()
        )
    assert left == ["another"]
