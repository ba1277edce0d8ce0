"""`porchlight admin seed`: bulk data whose counters agree with its visits."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from porchlight.admin import schema, sessions
from porchlight.admin.seed import seed


def new_session_id(app: Any, user_id: int) -> str:
    """A server-side session (admin/sessions.py) for the cookie's ``_user_id``."""
    with app.extensions["porchlight.engine"].begin() as conn:
        return sessions.start(conn, user_id)


@pytest.mark.both_dbs
def test_seed_counters_agree_and_list_works(app, engine, factory):
    result = seed(engine, 300, 2000, 4, tenant="bench")
    assert (result["customers"], result["visits"], result["locations"]) == (300, 2000, 4)
    c, v, cl = schema.customers, schema.visits, schema.customer_locations
    with engine.connect() as conn:
        mismatched = conn.execute(
            sa.select(sa.func.count())
            .select_from(c)
            .where(
                c.c.visit_count
                != sa.select(sa.func.count()).where(v.c.customer_id == c.c.id).scalar_subquery()
            )
        ).scalar_one()
        assert mismatched == 0
        assert conn.execute(sa.select(sa.func.sum(cl.c.visit_count))).scalar_one() == 2000
        names = {ix["name"] for ix in sa.inspect(conn).get_indexes("customers")}
    assert "ix_customers_tenant_visits" in names  # indexes are back after the bulk load
    # a second run adds more, ids continue
    seed(engine, 10, 10, 4, tenant="bench")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(c)).scalar_one() == 310
    owner = factory.user(result["tenant_id"], "owner")
    client = app.test_client()
    session_id = new_session_id(app, owner["id"])
    with client.session_transaction() as sess:
        sess["_user_id"] = session_id
    assert client.get("/customers?sort=visits").status_code == 200
    assert client.get("/").status_code == 200
