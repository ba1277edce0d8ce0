"""A router's login racing another writer of the same new customer (PostgreSQL).

A chain's job worker imports a list in one transaction without the tenant's
ingest lock; when a guest whose phone is in that list logs in for the first
time meanwhile, the ingest's INSERT waits on the unique (tenant, phone) index
until the import commits, then fails. The batch must still be stored (credited
to the imported customer), not answered with a 500.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from synckit import count, login_event, make_venue

from porchlight.admin.db import utcnow
from porchlight.admin.schema import customers

pytestmark = pytest.mark.pg


def test_a_login_racing_an_import_of_its_phone_is_stored(pg_url: str, pg_engine: Engine) -> None:
    from porchlight.admin.app import create_app

    venue = make_venue(pg_engine)
    app = create_app({"SECRET_KEY": "sync-tests-secret-key-0123456789", "DATABASE_URL": pg_url})
    answers: list[tuple[int, str]] = []
    event = login_event("0912345678", name="From the router")

    def post() -> None:
        answer = app.test_client().post(
            "/api/v1/events",
            json={"events": [event]},
            headers={"Authorization": f"Bearer {venue.token}"},
        )
        answers.append((answer.status_code, answer.get_data(as_text=True)))

    try:
        with pg_engine.connect() as importer:  # the import's long write transaction
            now = utcnow()
            importer.execute(
                customers.insert().values(
                    tenant_id=venue.tenant_id,
                    name="From the import",
                    phone="+84912345678",
                    created_at=now,
                    updated_at=now,
                )
            )
            request = threading.Thread(target=post)
            request.start()
            time.sleep(1.0)  # the ingest now waits on the import's row
            importer.commit()
        request.join(30)
    finally:
        app.extensions["porchlight.engine"].dispose()
    assert answers and answers[0][0] == 200, answers
    with pg_engine.connect() as conn:
        (customer,) = conn.execute(
            sa.select(customers.c.name, customers.c.visit_count).where(
                customers.c.tenant_id == venue.tenant_id
            )
        ).all()
    assert tuple(customer) == ("From the import", 1)
    assert count(pg_engine, "visits", "router_id = :r", r=venue.router_id) == 1
