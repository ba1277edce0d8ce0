"""The customer list filters by who follows the venue's LINE / Zalo account now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from porchlight.admin import schema
from porchlight.admin.customers.filters import parse_filters

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def names(html: str) -> list[str]:
    return sorted(re.findall(r'<td class="name"><a href="/customers/\d+">([^<]*)</a>', html))


def answer(engine, tenant_id, customer_id, location_id, purpose, granted, when):
    with engine.begin() as conn:
        conn.execute(
            schema.consents.insert().values(
                tenant_id=tenant_id,
                customer_id=customer_id,
                purpose=purpose,
                granted=granted,
                text_version="line-oa:@porchcafe" if purpose == "line_follow" else "zalo-oa:42",
                location_id=location_id,
                given_at=when,
                received_at=when,
            )
        )


@pytest.fixture
def people(world, factory, engine):
    w, day = world, timedelta(days=1)
    friend = factory.customer(w.tenant_id, "Friend", visits=[(w.q1, T0, "line")])
    answer(engine, w.tenant_id, friend, w.q1, "line_follow", True, T0)
    blocked = factory.customer(w.tenant_id, "Blocked later", visits=[(w.q1, T0, "line")])
    answer(engine, w.tenant_id, blocked, w.q1, "line_follow", True, T0)
    answer(engine, w.tenant_id, blocked, w.q1, "line_follow", False, T0 + day)
    declined = factory.customer(w.tenant_id, "Declined", visits=[(w.q1, T0, "line")])
    answer(engine, w.tenant_id, declined, w.q1, "line_follow", False, T0)
    zalo = factory.customer(w.tenant_id, "Zalo fan", visits=[(w.q3, T0, "zalo")])
    answer(engine, w.tenant_id, zalo, w.q3, "zalo_follow", True, T0)
    factory.customer(w.tenant_id, "Form only", visits=[(w.q1, T0, "form")])
    return w


@pytest.mark.both_dbs
def test_list_filters_by_current_followers(owner_client, people):
    line = owner_client.get("/customers?follows=line").get_data(as_text=True)
    assert names(line) == ["Friend"]
    assert 'option value="line" selected' in line
    zalo = owner_client.get("/customers?follows=zalo").get_data(as_text=True)
    assert names(zalo) == ["Zalo fan"]
    both = owner_client.get("/customers?follows=line&channel=line").get_data(as_text=True)
    assert names(both) == ["Friend"]


def test_manager_of_another_location_does_not_see_followers_elsewhere(manager_client, people):
    html = manager_client.get("/customers?follows=zalo").get_data(as_text=True)
    assert names(html) == []


def test_unknown_follow_filter_is_ignored_with_a_notice(owner_client, people):
    filters, notices = parse_filters({"follows": "tiktok"})
    assert filters.follows is None and notices
    html = owner_client.get("/customers?follows=tiktok").get_data(as_text=True)
    assert "Ignored the follower filter" in html
    assert len(names(html)) == 5
