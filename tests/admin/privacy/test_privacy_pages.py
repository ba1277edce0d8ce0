"""Privacy pages: retention preview before it turns on, guests' erasure requests with
a countdown, the consent filter and marketing exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io.exports.job import export_customers

OLD = datetime(2020, 3, 1, 3, tzinfo=UTC)


def _consent(engine: Any, customer_id: int, tenant_id: int, granted: bool, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            schema.consents.insert().values(
                tenant_id=tenant_id,
                customer_id=customer_id,
                purpose="marketing",
                granted=granted,
                text_version="mkt-v3",
                given_at=at,
                received_at=at,
            )
        )


def test_turning_retention_on_shows_what_it_would_erase_first(
    engine, world, factory, owner_client, csrf
) -> None:
    factory.customer(
        world.tenant_id, "Gone", phone="+84912000001", visits=[(world.q1, OLD, "form")]
    )
    factory.customer(
        world.tenant_id, "Here", phone="+84912000002", visits=[(world.q1, utcnow(), "form")]
    )
    token = csrf(owner_client, "/privacy")
    form = {"csrf_token": token, "enabled": "1", "customer_months": "24", "device_days": "90"}
    page = owner_client.post("/privacy/retention", data=form).get_data(as_text=True)
    assert "this would erase 1 customers" in page
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.privacy_settings)).first() is None  # not on yet
    done = owner_client.post("/privacy/retention", data={**form, "confirm": "1"})
    assert done.status_code == 302
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.privacy_settings)).one()
        assert row.retention_enabled and row.customer_months == 24
        assert (
            conn.execute(
                sa.select(sa.func.count()).where(
                    schema.audit_log.c.action == "privacy_retention_settings"
                )
            ).scalar()
            == 1
        )
    queued = owner_client.post("/privacy/retention/run", data={"csrf_token": token})
    assert queued.status_code == 302
    with engine.connect() as conn:
        assert conn.execute(
            sa.select(schema.jobs.c.kind).where(schema.jobs.c.tenant_id == world.tenant_id)
        ).scalars().all() == ["retention"]


def test_bad_windows_are_refused_in_the_users_words(world, owner_client, csrf) -> None:
    token = csrf(owner_client, "/privacy")
    answer = owner_client.post(
        "/privacy/retention",
        data={"csrf_token": token, "customer_months": "0", "device_days": "x"},
        follow_redirects=True,
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "from 1 to 120" in text and "from 1 to 3650" in text


def test_settings_page_says_why_each_field_is_asked(owner_client) -> None:
    page = owner_client.get("/privacy").get_data(as_text=True)
    assert "recognise the same customer across visits" in page
    assert "required" in page and "optional" in page  # per location: Q1, Q3


def test_privacy_pages_are_for_owners(manager_client, viewer_client) -> None:
    for client in (manager_client, viewer_client):
        assert client.get("/privacy").status_code in (403, 404)
        assert client.get("/privacy/requests").status_code in (403, 404)


def test_erasure_request_shows_a_countdown_and_confirming_erases(
    engine, world, factory, owner_client, csrf
) -> None:
    cid = factory.customer(
        world.tenant_id, "Lan", phone="+84912000003", visits=[(world.q1, utcnow(), "form")]
    )
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            schema.guest_requests.insert().values(
                tenant_id=world.tenant_id,
                customer_id=cid,
                location_id=world.q1,
                event_id="0b3c3f4e-1111-4a2b-9c3d-000000000001",
                kind="erasure",
                status="open",
                requested_at=now,
                received_at=now,
                due_at=now + timedelta(hours=72),
            )
        )
    page = owner_client.get("/privacy/requests").get_data(as_text=True)
    assert "71 h 59 min left" in page or "72 h 0 min left" in page
    customer_page = owner_client.get(f"/customers/{cid}").get_data(as_text=True)
    assert "asked to be erased" in customer_page
    token = csrf(owner_client, "/privacy/requests")
    (request_id,) = [
        r for r in engine.connect().execute(sa.select(schema.guest_requests.c.id)).scalars()
    ]
    owner_client.post(f"/privacy/requests/{request_id}/confirm", data={"csrf_token": token})
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(schema.customers).where(schema.customers.c.id == cid)).first()
            is None
        )
        status = conn.execute(sa.select(schema.guest_requests.c.status)).scalar()
        assert status == "erased"
        actions = set(conn.execute(sa.select(schema.audit_log.c.action)).scalars())
    assert "guest_erasure_erased" in actions
    again = owner_client.post(
        f"/privacy/requests/{request_id}/confirm", data={"csrf_token": token}, follow_redirects=True
    )
    assert "already answered" in again.get_data(as_text=True)


def test_consent_filter_and_marketing_export_keep_only_current_consent(
    engine, world, factory, owner_client, tmp_path: Path
) -> None:
    yes = factory.customer(
        world.tenant_id, "Yes", phone="+84912000011", visits=[(world.q1, utcnow(), "form")]
    )
    withdrawn = factory.customer(
        world.tenant_id, "Withdrawn", phone="+84912000012", visits=[(world.q1, utcnow(), "form")]
    )
    never = factory.customer(
        world.tenant_id, "Never", phone="+84912000013", visits=[(world.q1, utcnow(), "form")]
    )
    t = utcnow() - timedelta(days=1)
    _consent(engine, yes, world.tenant_id, True, t)
    _consent(engine, withdrawn, world.tenant_id, True, t)
    _consent(engine, withdrawn, world.tenant_id, False, t + timedelta(hours=1))
    listed = owner_client.get("/customers?consent=marketing").get_data(as_text=True)
    assert "Yes" in listed and "Withdrawn" not in listed and "Never" not in listed
    others = owner_client.get("/customers?consent=no_marketing").get_data(as_text=True)
    assert "Withdrawn" in others and "Never" in others
    result = export_customers(
        engine,
        tenant_id=world.tenant_id,
        scope="all",
        fmt="csv",
        out_dir=tmp_path,
        base_name="m",
        lang="en",
        purpose="marketing",
    )
    rows = list(csv.reader(io.StringIO(Path(result["path"]).read_bytes().decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert [r[header.index("Name")] for r in body] == ["Yes"]
    assert body[0][header.index("Marketing consent text")] == "mkt-v3"
    with engine.connect() as conn:
        details = conn.execute(
            sa.select(schema.audit_log.c.details).where(
                schema.audit_log.c.action == "customers.export"
            )
        ).scalar()
    assert details["purpose"] == "marketing"
    assert never  # (no consent at all: left out too)
