"""The guest's own say reaching the admin (consent withdrawal, erasure request) and
retention with a moved clock — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from synckit import Venue, count, login_event, make_venue

from porchlight.admin import schema
from porchlight.admin.customers import visit_rollup
from porchlight.admin.db import utcnow
from porchlight.admin.privacy import batches, retention
from porchlight.admin.privacy import settings as privacy_settings
from porchlight.admin.privacy.consent_state import current_consent
from porchlight.admin.privacy.guest_events import ERASURE_DEADLINE
from porchlight.admin.sync.enrollment import RouterIdentity
from porchlight.admin.sync.ingest import ingest_batch, write_transaction
from porchlight.events import new_event_id, utc_now_iso, validate_event


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def store(request: pytest.FixtureRequest) -> Engine:
    if request.param == "sqlite":
        return request.getfixturevalue("engine")
    return request.getfixturevalue("pg_engine")


def _ingest(engine: Engine, v: Venue, events: list[dict]) -> list[str]:
    router = RouterIdentity(v.router_id, v.tenant_id, v.location_id, "front desk")
    with write_transaction(engine, v.tenant_id) as conn:
        return ingest_batch(conn, router, [validate_event(e) for e in events]).acked


def _guest(kind: str, session_id: str, **data: object) -> dict:
    return {
        "id": new_event_id(),
        "type": kind,
        "occurred_at": utc_now_iso(),
        "mac": "aa:bb:cc:dd:ee:01",
        "data": {"session_id": session_id, **data},
    }


def _marketing_login(phone: str, session_id: str, **kw: object) -> dict:
    event = login_event(phone, session_id=session_id, **kw)  # type: ignore[arg-type]
    event["data"]["consents"][1] = {"purpose": "marketing", "granted": True, "text_version": "m-v2"}
    return event


def _consenting(engine: Engine, tenant_id: int) -> list[int]:
    c = schema.customers
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(c.c.id).where(c.c.tenant_id == tenant_id, current_consent(c.c.id))
            ).scalars()
        )


def test_withdrawal_arrives_once_and_ends_the_current_marketing_consent(store: Engine) -> None:
    v = make_venue(store)
    _ingest(store, v, [_marketing_login("0912345678", "s-1")])
    assert len(_consenting(store, v.tenant_id)) == 1
    withdraw = _guest("consent", "s-1", purpose="marketing", granted=False, text_version="m-v2")
    assert _ingest(store, v, [withdraw]) == [withdraw["id"]]
    assert _ingest(store, v, [withdraw]) == [withdraw["id"]]  # a retry: acked, not applied twice
    assert _consenting(store, v.tenant_id) == []
    assert (
        count(
            store,
            "consents",
            "tenant_id = :t AND purpose = 'marketing' AND NOT granted",
            t=v.tenant_id,
        )
        == 1
    )
    assert (
        count(
            store,
            "audit_log",
            "tenant_id = :t AND action = 'guest_consent_withdrawn'",
            t=v.tenant_id,
        )
        == 1
    )


def test_withdrawal_in_the_same_batch_as_its_login(store: Engine) -> None:
    v = make_venue(store)
    login = _marketing_login("0912345679", "s-2", occurred_at="2026-12-01T10:00:00.000Z")
    withdraw = _guest("consent", "s-2", purpose="marketing", granted=False, text_version="m-v2")
    _ingest(store, v, [login, withdraw])
    assert _consenting(store, v.tenant_id) == []


def test_erasure_request_opens_a_request_due_within_the_legal_limit(store: Engine) -> None:
    v = make_venue(store)
    _ingest(store, v, [login_event("0912345670", session_id="s-3")])
    ask = _guest("erasure_request", "s-3")
    _ingest(store, v, [ask, ask])
    with store.connect() as conn:
        (row,) = conn.execute(
            sa.select(schema.guest_requests).where(schema.guest_requests.c.tenant_id == v.tenant_id)
        ).all()
    assert row.status == "open" and row.customer_id is not None
    assert row.due_at - row.received_at <= ERASURE_DEADLINE
    assert row.due_at > utcnow() + ERASURE_DEADLINE - timedelta(minutes=5)
    assert (
        count(
            store,
            "audit_log",
            "tenant_id = :t AND action = 'guest_erasure_requested'",
            t=v.tenant_id,
        )
        == 1
    )


def test_a_request_for_an_unknown_session_and_device_is_recorded_as_no_data(
    store: Engine,
) -> None:
    v = make_venue(store)
    _ingest(store, v, [_guest("erasure_request", "nobody")])
    with store.connect() as conn:
        (row,) = conn.execute(
            sa.select(schema.guest_requests).where(schema.guest_requests.c.tenant_id == v.tenant_id)
        ).all()
    assert row.status == "no_data" and row.customer_id is None


def _hour_totals(engine: Engine, tenant_id: int) -> list[tuple[int, int, int]]:
    vh = schema.visit_hours
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.select(vh.c.location_id, vh.c.hour, vh.c.visits)
                .where(vh.c.tenant_id == tenant_id)
                .order_by(vh.c.location_id, vh.c.hour)
            )
        ]


def test_retention_with_a_moved_clock_erases_the_gone_and_prunes_old_device_data(
    store: Engine,
) -> None:
    v = make_venue(store)
    old = datetime(2026, 1, 10, 3, tzinfo=UTC)
    recent = datetime(2027, 11, 1, 3, tzinfo=UTC)
    iso = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731
    _ingest(
        store,
        v,
        [
            login_event("0912000001", occurred_at=iso(old), mac="aa:bb:cc:00:00:01"),
            login_event("0912000002", occurred_at=iso(old), mac="aa:bb:cc:00:00:02"),
            login_event("0912000002", occurred_at=iso(recent), mac="aa:bb:cc:00:00:03"),
        ],
    )
    before = _hour_totals(store, v.tenant_id)
    now = datetime(2028, 2, 1, tzinfo=UTC)  # 24+ months after `old`, 3 months after `recent`
    with store.connect() as conn:
        r = privacy_settings.load(conn, v.tenant_id)
        preview = retention.preview(conn, v.tenant_id, r, now)
    assert preview["customers"] == 1
    result = retention.run(store, v.tenant_id, now=now)
    assert result["customers"] == 1
    with store.connect() as conn:
        c = schema.customers
        phones = set(
            conn.execute(sa.select(c.c.phone).where(c.c.tenant_id == v.tenant_id)).scalars()
        )
        assert phones == {"+84912000002"}
        d = schema.devices
        macs = set(conn.execute(sa.select(d.c.mac).where(d.c.tenant_id == v.tenant_id)).scalars())
        assert macs == set()  # both devices unseen for 90 days
        vis = schema.visits
        left = conn.execute(
            sa.select(vis.c.started_at, vis.c.mac, vis.c.bytes_in)
            .where(vis.c.tenant_id == v.tenant_id)
            .order_by(vis.c.started_at)
        ).all()
        assert [(row.mac, row.bytes_in) for row in left] == [(None, None), (None, None)]
        k = schema.consents
        assert set(
            conn.execute(sa.select(k.c.mac).where(k.c.tenant_id == v.tenant_id)).scalars()
        ) == {None}
    # The dashboard's history is untouched: the erased customer's visit still counts.
    assert _hour_totals(store, v.tenant_id) == before
    assert (
        count(
            store, "audit_log", "tenant_id = :t AND action = 'privacy_retention_run'", t=v.tenant_id
        )
        == 1
    )
    # A second pass at the same time finds nothing left to do.
    again = retention.run(store, v.tenant_id, now=now)
    assert (again["customers"], again["devices"], again["visits"]) == (0, 0, 0)


def test_retention_keeps_device_data_inside_the_window(store: Engine) -> None:
    v = make_venue(store)
    when = utcnow() - timedelta(days=10)
    event = login_event("0912000009", occurred_at=when.isoformat().replace("+00:00", "Z"))
    _ingest(store, v, [event])
    result = retention.run(store, v.tenant_id)
    assert (result["customers"], result["devices"], result["visits"]) == (0, 0, 0)
    assert count(store, "visits", "tenant_id = :t AND mac IS NOT NULL", t=v.tenant_id) == 1


def test_retention_batches_stay_short(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    v = make_venue(store)
    old = "2020-01-01T00:00:00Z"
    _ingest(store, v, [login_event(f"09120{i:05d}", occurred_at=old) for i in range(120)])
    monkeypatch.setattr(batches, "TXN_ROWS_MAX", 25)
    result = retention.run(store, v.tenant_id)
    assert result["customers"] == 120
    assert result["most_rows"] <= 25  # many short transactions, not one long one
    assert result["batches"] >= 5
    assert count(store, "visits", "tenant_id = :t", t=v.tenant_id) == 0
    assert sum(n for _l, _h, n in _hour_totals(store, v.tenant_id)) == 120


def test_manual_erasure_still_takes_its_visits_off_the_counts(store: Engine) -> None:
    """Unchanged: the manager's erasure subtracts (visit_rollup.remove_customer)."""
    v = make_venue(store)
    _ingest(store, v, [login_event("0912777777")])
    with store.begin() as conn:
        c = schema.customers
        cid = conn.execute(sa.select(c.c.id).where(c.c.tenant_id == v.tenant_id)).scalar_one()
        visit_rollup.remove_customer(conn, cid)
        conn.execute(schema.customers.delete().where(schema.customers.c.id == cid))
    assert _hour_totals(store, v.tenant_id) == []


def test_a_field_the_location_does_not_ask_is_not_stored(store: Engine) -> None:
    v = make_venue(store)
    with store.begin() as conn:
        conn.execute(
            schema.portal_settings.insert().values(
                location_id=v.location_id,
                version=1,
                settings={
                    "portal": {"fields": {"name": "hidden", "phone": "required", "email": "hidden"}}
                },
                created_at=utcnow(),
            )
        )
    event = login_event("0912000055", name="Lan", email="lan@example.vn")
    _ingest(store, v, [event])
    with store.connect() as conn:
        c = schema.customers
        row = conn.execute(sa.select(c).where(c.c.tenant_id == v.tenant_id)).one()
    assert (row.name, row.phone, row.email) == ("", "+84912000055", None)
