"""The customer page's chat buttons: only the links that work for that customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.customers.chat_links import chat_links
from porchlight.admin.locations.guest_page_settings import current_settings, save_version

T0 = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
LINE_USER = "U" + "4af49806292a" * 2 + "ab12cd34"
OA_USER = "U" + "0a" * 16


def test_links_follow_what_each_platform_allows() -> None:
    vn = chat_links("+84912345678", None, ["form"], {}, {})
    assert [(x["platform"], x["url"]) for x in vn] == [
        ("zalo", "https://zalo.me/0912345678"),
        ("whatsapp", "https://wa.me/84912345678"),
    ]
    th = chat_links("+66812345678", None, ["form"], {}, {})
    assert [x["platform"] for x in th] == ["whatsapp"]  # no Zalo for a Thai number
    landline = chat_links("+842838123456", None, ["form"], {}, {})
    assert landline == []  # a Hồ Chí Minh City desk phone has neither
    follower = chat_links(
        None, f"line:{LINE_USER}", ["line"], {"line_follow": (True, 7)}, {7: OA_USER}
    )
    assert follower == [
        {
            "platform": "line",
            "label": "LINE",
            "url": f"https://chat.line.biz/{OA_USER}/chat/{LINE_USER}",
        }
    ]
    unfollowed = {"line_follow": (False, 7)}
    assert chat_links(None, f"line:{LINE_USER}", ["line"], unfollowed, {7: OA_USER}) == []
    no_oa_id = {"line_follow": (True, 7)}
    assert chat_links(None, f"line:{LINE_USER}", ["line"], no_oa_id, {}) == []
    assert chat_links(None, "google:g-1", ["google"], no_oa_id, {7: OA_USER}) == []


def _follow(engine, customer_id, tenant_id, location_id, granted, when):
    with engine.begin() as conn:
        conn.execute(
            schema.consents.insert().values(
                tenant_id=tenant_id,
                customer_id=customer_id,
                purpose="line_follow",
                granted=granted,
                text_version="line-oa:@porchcafe",
                location_id=location_id,
                given_at=when,
                received_at=when,
            )
        )


@pytest.fixture
def line_location(world, engine):
    with engine.begin() as conn:
        settings = current_settings(conn, world.q1)
        settings["portal"]["chat"] = {
            "line_oa": "@porchcafe",
            "line_bot_prompt": "aggressive",
            "line_chat_id": OA_USER,
        }
        save_version(conn, world.q1, settings, logo=None, logo_type=None, user_id=None)
    return world.q1


@pytest.mark.both_dbs
def test_customer_page_shows_the_line_chat_of_a_follower(
    owner_client, factory, world, engine, line_location
):
    cid = factory.customer(
        world.tenant_id,
        "Somchai",
        "+66812345678",
        visits=[(line_location, T0, "line")],
        social_provider="line",
        social_id=f"line:{LINE_USER}",
    )
    _follow(engine, cid, world.tenant_id, line_location, True, T0)
    html = owner_client.get(f"/customers/{cid}").get_data(as_text=True)
    assert f'href="https://chat.line.biz/{OA_USER}/chat/{LINE_USER}"' in html
    assert 'href="https://wa.me/66812345678"' in html
    assert "zalo.me" not in html
    assert "Follows on LINE" in html
    assert "<dt>Social login</dt><dd>LINE</dd>" in html  # named as LINE writes it, not "line"

    # unfollowed later (the newest answer counts): the LINE button goes
    _follow(engine, cid, world.tenant_id, line_location, False, T0 + timedelta(days=2))
    html = owner_client.get(f"/customers/{cid}").get_data(as_text=True)
    assert "chat.line.biz" not in html and "wa.me/66812345678" in html


def test_customer_without_phone_or_follow_gets_no_chat_buttons(owner_client, factory, world):
    cid = factory.customer(world.tenant_id, "Click guest", visits=[(world.q1, T0, "click")])
    html = owner_client.get(f"/customers/{cid}").get_data(as_text=True)
    assert "Chat on" not in html


def test_vietnamese_customer_gets_zalo_by_phone(owner_client, factory, world, engine):
    cid = factory.customer(world.tenant_id, "An", "+84912345678", visits=[(world.q1, T0, "zalo")])
    html = owner_client.get(f"/customers/{cid}").get_data(as_text=True)
    assert 'href="https://zalo.me/0912345678"' in html
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.consents)).scalar() == 0
