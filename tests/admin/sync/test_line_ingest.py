"""A LINE login with its follow answer, as the router's outbox sends it, lands in the admin."""

from __future__ import annotations

import sqlalchemy as sa
from synckit import login_event, make_venue

from porchlight.admin.schema import consents, customer_channels, customers
from porchlight.admin.sync.enrollment import RouterIdentity
from porchlight.admin.sync.ingest import ingest_batch, write_transaction
from porchlight.events import validate_event

LINE_USER = "U" + "4af49806292a" * 2 + "ab12cd34"


def test_line_login_keeps_the_channel_identity_and_follow_answer(engine) -> None:
    v = make_venue(engine, country="TH")
    event = login_event(None, channel="line", name="สมชาย", tags=["wifi", "line"])
    event["data"]["social_id"] = f"line:{LINE_USER}"
    event["data"]["consents"].append(
        {"purpose": "line_follow", "granted": True, "text_version": "line-oa:@porchcafe"}
    )
    router = RouterIdentity(v.router_id, v.tenant_id, v.location_id, "front desk")
    with write_transaction(engine, v.tenant_id) as conn:
        ingest_batch(conn, router, [validate_event(event)])
    with engine.connect() as conn:
        customer = conn.execute(sa.select(customers)).one()
        assert (customer.social_provider, customer.social_id) == ("line", f"line:{LINE_USER}")
        assert customer.last_channel == "line"
        channels = conn.execute(sa.select(customer_channels.c.channel)).scalars().all()
        assert channels == ["line"]
        follow = conn.execute(sa.select(consents).where(consents.c.purpose == "line_follow")).one()
    assert follow.granted is True
    assert follow.text_version == "line-oa:@porchcafe"
    assert follow.location_id == v.location_id
