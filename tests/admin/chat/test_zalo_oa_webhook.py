"""Zalo OA follow / unfollow deliveries against the real admin app and database.

A follow signed with the location's OA secret becomes the customer's
``zalo_follow`` consent (the follower filter, the export and the customer page
read it); a forged, malformed, oversized, stale or replayed delivery gets a
4xx or a "duplicate" and stores nothing; a follower the admin does not know
yet is linked when their Zalo login arrives.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from chatkit import (
    OA_ID,
    OA_SECRET,
    hook_token,
    post_zalo,
    router_token,
    rows,
    save_chat_page,
    send_login,
    set_zalo_oa,
    zalo_body,
    zalo_signature,
)

from porchlight.admin import schema
from porchlight.admin.chat import linking

APP_USER = "8912345678901234"


@pytest.fixture
def zalo_location(world, engine, owner_client, csrf):
    set_zalo_oa(engine, world.q1)
    answer = save_chat_page(owner_client, csrf, world.q1, zalo_secret=OA_SECRET)
    assert answer.status_code == 302
    return hook_token(engine, world.q1)


def _zalo_customer(factory, world, user: str = APP_USER) -> int:
    return factory.customer(
        world.tenant_id, "An", "+84912345678", visits=[], social_provider="zalo",
        social_id=f"zalo:{user}",
    )  # fmt: skip


def _follows(engine, customer_id):
    return [
        (r.granted, r.text_version)
        for r in sorted(
            rows(engine, schema.consents, customer_id=customer_id, purpose="zalo_follow"),
            key=lambda r: (r.given_at, r.id),
        )
    ]


@pytest.mark.both_dbs
def test_follow_then_unfollow_become_the_customers_answers(
    app, engine, world, factory, zalo_location, owner_client
):
    cid = _zalo_customer(factory, world)
    client = app.test_client()
    answer = post_zalo(client, zalo_location, zalo_body("follow"))
    assert answer.status_code == 200 and answer.get_json() == {"result": "recorded"}
    assert _follows(engine, cid) == [(True, f"zalo-oa:{OA_ID}")]
    listed = owner_client.get("/customers?follows=zalo").get_data(as_text=True)
    assert f"/customers/{cid}" in listed

    time.sleep(0.002)  # a later timestamp (milliseconds)
    answer = post_zalo(client, zalo_location, zalo_body("unfollow"))
    assert answer.status_code == 200
    assert [g for g, _v in _follows(engine, cid)] == [True, False]
    listed = owner_client.get("/customers?follows=zalo").get_data(as_text=True)
    assert f"/customers/{cid}" not in listed  # the newest answer counts


@pytest.mark.both_dbs
def test_forged_malformed_and_replayed_deliveries_store_nothing(
    app, engine, world, factory, zalo_location
):
    cid = _zalo_customer(factory, world)
    client = app.test_client()
    raw = zalo_body("follow")
    assert post_zalo(client, zalo_location, raw, signature="mac=" + "0" * 64).status_code == 401
    wrong_secret = zalo_signature(raw, secret="not-the-oa-secret")
    assert post_zalo(client, zalo_location, raw, signature=wrong_secret).status_code == 401
    tampered = raw.replace(APP_USER.encode(), b"8912345678900000")
    assert post_zalo(client, zalo_location, tampered, zalo_signature(raw)).status_code == 401
    assert post_zalo(client, "no-such-token", raw).status_code == 404
    huge = zalo_body("follow", padding="x" * 70_000)
    assert post_zalo(client, zalo_location, huge).status_code == 413
    bad_json = b'{"app_id": "1", "timestamp": "1", '
    answer = client.post(
        f"/api/v1/webhooks/zalo-oa/{zalo_location}", data=bad_json,
        content_type="application/json", headers={"X-ZEvent-Signature": "mac=00"},
    )  # fmt: skip
    assert answer.status_code == 400
    odd_user = zalo_body("follow", app_user="'; DROP TABLE consents; --")
    assert post_zalo(client, zalo_location, odd_user).status_code == 422
    stale = zalo_body("follow", timestamp=str(int((time.time() - 3 * 86400) * 1000)))
    assert post_zalo(client, zalo_location, stale).status_code == 422
    other_oa = zalo_body("follow", oa_id="999999999999")
    assert post_zalo(client, zalo_location, other_oa).status_code == 403
    assert _follows(engine, cid) == []
    assert rows(engine, schema.chat_pending) == []
    assert rows(engine, schema.chat_webhook_seen) == []

    assert post_zalo(client, zalo_location, raw).get_json() == {"result": "recorded"}
    assert post_zalo(client, zalo_location, raw).get_json() == {"duplicate": True}
    assert len(_follows(engine, cid)) == 1  # the replay changed nothing


def test_other_events_are_acknowledged_and_ignored(app, engine, zalo_location):
    raw = json.dumps(
        {"app_id": "1430082917362018", "oa_id": OA_ID, "event_name": "user_send_text",
         "timestamp": str(int(time.time() * 1000)), "message": {"text": "hi"}}
    ).encode()  # fmt: skip
    answer = post_zalo(app.test_client(), zalo_location, raw)
    assert answer.status_code == 200 and answer.get_json() == {"ignored": True}
    assert rows(engine, schema.consents) == []


def test_without_a_secret_every_delivery_is_refused(app, engine, world, owner_client, csrf):
    set_zalo_oa(engine, world.q1)
    assert save_chat_page(owner_client, csrf, world.q1).status_code == 302  # no secret typed
    token = hook_token(engine, world.q1)
    assert post_zalo(app.test_client(), token, zalo_body()).status_code == 401


@pytest.mark.both_dbs
def test_unknown_follower_is_linked_when_their_zalo_login_arrives(
    app, engine, world, zalo_location
):
    client = app.test_client()
    answer = post_zalo(client, zalo_location, zalo_body("follow"))
    assert answer.get_json() == {"result": "pending"}
    assert rows(engine, schema.consents) == []
    assert len(rows(engine, schema.chat_pending, platform="zalo")) == 1

    token = router_token(engine, world.q1)
    send_login(
        client, token, session_id=str(uuid.uuid4()), channel="zalo", social_id=f"zalo:{APP_USER}"
    )
    with engine.connect() as conn:
        cid = conn.execute(
            sa.select(schema.customers.c.id).where(
                schema.customers.c.social_id == f"zalo:{APP_USER}"
            )
        ).scalar_one()
    assert _follows(engine, cid) == [(True, f"zalo-oa:{OA_ID}")]
    assert rows(engine, schema.chat_pending) == []


def test_follow_without_the_app_link_is_acknowledged_but_names_nobody(app, engine, zalo_location):
    answer = post_zalo(app.test_client(), zalo_location, zalo_body("follow", app_user=None))
    assert answer.status_code == 200 and answer.get_json() == {"result": "unlinked"}
    assert rows(engine, schema.consents) == [] and rows(engine, schema.chat_pending) == []


def test_old_replay_marks_and_waiting_follows_are_pruned(app, engine, world, zalo_location):
    client = app.test_client()
    post_zalo(client, zalo_location, zalo_body("follow", app_user="1111"))
    later = rows(engine, schema.chat_pending)[0].received_at
    with engine.begin() as conn:
        linking.prune(conn, later + timedelta(days=31))
    assert rows(engine, schema.chat_pending) == []
    assert rows(engine, schema.chat_webhook_seen) == []


def test_export_carries_the_zalo_follow(app, engine, world, factory, zalo_location, tmp_path):
    import csv
    import io

    from porchlight.admin.io.exports.job import export_customers

    cid = _zalo_customer(factory, world)
    other = factory.customer(world.tenant_id, "Binh", "+84912345600", visits=[])
    client = app.test_client()
    post_zalo(client, zalo_location, zalo_body("follow"))
    post_zalo(client, zalo_location, zalo_body("unfollow", app_user="4444"))  # nobody yet
    result = export_customers(
        engine, tenant_id=world.tenant_id, fmt="csv", out_dir=tmp_path / "out",
        base_name="customers", scope="all", lang="en",
    )  # fmt: skip
    raw = Path(result["path"]).read_bytes()
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    zalo = table[0].index("Zalo follower")
    by_name = {row[1]: row[zalo] for row in table[1:]}
    assert by_name == {"An": "yes", "Binh": ""}
    assert _follows(engine, other) == [] and _follows(engine, cid) == [(True, f"zalo-oa:{OA_ID}")]
