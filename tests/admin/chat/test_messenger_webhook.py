"""Messenger: the guest page's signed m.me link, Meta's webhook, the customer page's button.

Against the real admin app and database: Meta's subscription check, a
referral signed with the app secret whose ref names a login of this location
(linked at once, or when the login arrives), and forged, malformed, oversized
or replayed deliveries that store nothing.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import uuid

import pytest
from chatkit import (
    META_SECRET,
    PAGE,
    PAGE_ID,
    hook_token,
    messenger_body,
    post_messenger,
    router_token,
    rows,
    save_chat_page,
    send_login,
)

from porchlight.admin import schema
from porchlight.admin.sync.location_config import build_location_config
from porchlight.chat_accounts import messenger_ref
from porchlight.guest_page import page

PSID = "7001002003004005"
INBOX = "https://business.facebook.com/latest/inbox/all?asset_id={}&amp;selected_item_id={}"


@pytest.fixture
def messenger_location(world, engine, owner_client, csrf):
    answer = save_chat_page(
        owner_client, csrf, world.q1,
        messenger_page=f"https://m.me/{PAGE}", messenger_page_id=PAGE_ID,
        meta_app_secret=META_SECRET.upper(),
    )  # fmt: skip
    assert answer.status_code == 302
    return hook_token(engine, world.q1)


def _guest_ref(engine, location_id: int, session_id: str) -> str:
    """The ref the router's guest page puts in its m.me link (read from the page itself)."""
    with engine.connect() as conn:
        config, _etag = build_location_config(conn, location_id)
    html = page.render_success(config, "en", session_id=session_id)
    match = re.search(r'href="https://m\.me/' + PAGE + r'\?ref=([^"]+)"', html)
    assert match, html
    assert "Chat with" in html and "on Messenger" in html
    return urllib.parse.unquote(match.group(1))


def test_meta_subscription_check(app, engine, messenger_location):
    client = app.test_client()
    verify = rows(engine, schema.chat_webhooks)[0].meta_verify_token
    base = f"/api/v1/webhooks/messenger/{messenger_location}"
    good = {"hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "1158201444"}
    answer = client.get(base, query_string=good)
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "1158201444"
    wrong = {**good, "hub.verify_token": "guess"}
    assert client.get(base, query_string=wrong).status_code == 403
    assert client.get("/api/v1/webhooks/messenger/nope", query_string=good).status_code == 404


@pytest.mark.both_dbs
def test_referral_names_the_customer_and_the_page_opens_their_conversation(
    app, engine, world, messenger_location, owner_client
):
    client = app.test_client()
    session_id = str(uuid.uuid4())
    send_login(client, router_token(engine, world.q1), session_id=session_id, phone="0912345678")
    ref = _guest_ref(engine, world.q1, session_id)
    answer = post_messenger(client, messenger_location, messenger_body(ref, PSID))
    assert answer.status_code == 200 and answer.get_json() == {"result": ["linked"]}
    (contact,) = rows(engine, schema.messenger_contacts)
    assert (contact.page_id, contact.psid) == (PAGE_ID, PSID)

    html = owner_client.get(f"/customers/{contact.customer_id}").get_data(as_text=True)
    assert INBOX.format(PAGE_ID, PSID) in html
    assert "Chat on Messenger" in html
    data = owner_client.get(f"/customers/{contact.customer_id}/data.json").get_json()
    assert data["messenger_contacts"][0]["psid"] == PSID


@pytest.mark.both_dbs
def test_forged_malformed_oversized_and_replayed_deliveries_store_nothing(
    app, engine, world, messenger_location
):
    client = app.test_client()
    session_id = str(uuid.uuid4())
    send_login(client, router_token(engine, world.q1), session_id=session_id)
    ref = _guest_ref(engine, world.q1, session_id)
    raw = messenger_body(ref)
    assert post_messenger(client, messenger_location, raw, secret="f" * 32).status_code == 401
    unsigned = client.post(
        f"/api/v1/webhooks/messenger/{messenger_location}", data=raw,
        content_type="application/json",
    )  # fmt: skip
    assert unsigned.status_code == 401
    huge = messenger_body(ref + "x" * 70_000)
    assert post_messenger(client, messenger_location, huge).status_code == 413
    assert post_messenger(client, messenger_location, b"[1, 2").status_code == 400
    not_page = b'{"object": "instagram", "entry": []}'
    assert post_messenger(client, messenger_location, not_page).status_code == 422
    forged_ref = messenger_ref("someone-elses-key-0123456789abcdef", world.q1, session_id)
    answer = post_messenger(client, messenger_location, messenger_body(forged_ref))
    assert answer.status_code == 200 and answer.get_json() == {"ignored": True}
    mac = ref.rsplit(".", 1)[1]
    other_session = str(uuid.uuid4())
    tampered = messenger_body(f"p1.{world.q1}.{other_session}.{mac}")  # another session, same MAC
    assert post_messenger(client, messenger_location, tampered).get_json() == {"ignored": True}
    tampered = messenger_body(ref.replace("p1.", "p1.0"))  # the same ref spelled otherwise
    assert post_messenger(client, messenger_location, tampered).get_json() == {"ignored": True}
    other_place = messenger_ref(
        rows(engine, schema.chat_webhooks)[0].ref_key, world.q3, session_id
    )  # signed for Q3, posted to Q1's hook
    assert post_messenger(client, messenger_location, messenger_body(other_place)).get_json() == {
        "ignored": True
    }
    assert rows(engine, schema.messenger_contacts) == []
    assert rows(engine, schema.chat_pending) == []
    assert rows(engine, schema.chat_webhook_seen) == []

    assert post_messenger(client, messenger_location, raw).get_json() == {"result": ["linked"]}
    assert post_messenger(client, messenger_location, raw).get_json() == {"duplicate": True}
    assert len(rows(engine, schema.messenger_contacts)) == 1


def test_postback_before_the_login_arrives_is_linked_by_the_login(
    app, engine, world, messenger_location, owner_client
):
    client = app.test_client()
    session_id = str(uuid.uuid4())
    ref = _guest_ref(engine, world.q1, session_id)  # the guest is faster than the sync
    answer = post_messenger(client, messenger_location, messenger_body(ref, kind="postback"))
    assert answer.get_json() == {"result": ["pending"]}
    assert rows(engine, schema.messenger_contacts) == []
    send_login(client, router_token(engine, world.q1), session_id=session_id)
    (contact,) = rows(engine, schema.messenger_contacts)
    assert contact.psid == PSID and rows(engine, schema.chat_pending) == []


def test_no_messenger_button_without_a_known_psid(app, engine, world, factory, owner_client):
    cid = factory.customer(world.tenant_id, "Fb guest", None, social_provider="facebook",
                           social_id="facebook:10221", visits=[])  # fmt: skip
    html = owner_client.get(f"/customers/{cid}").get_data(as_text=True)
    assert "Messenger" not in html


def test_guest_page_offers_messenger_only_with_the_page_and_a_session(engine, world):
    with engine.connect() as conn:
        config, _etag = build_location_config(conn, world.q1)
    assert "messenger_page" not in (config["portal"].get("chat") or {})
    html = page.render_success(config, "en", session_id=str(uuid.uuid4()))
    assert "m.me" not in html


def test_chat_page_checks_its_fields_and_keeps_secrets_unseen(
    engine, world, owner_client, viewer_client, csrf
):
    bad = save_chat_page(
        owner_client, csrf, world.q1, messenger_page="a b", meta_app_secret="short",
        zalo_secret="has space inside",
    )  # fmt: skip
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="err-messenger_page"' in html and 'id="err-meta_app_secret"' in html
    assert 'id="err-zalo_secret"' in html
    assert rows(engine, schema.chat_webhooks) == []  # nothing half-saved
    only_page = save_chat_page(owner_client, csrf, world.q1, messenger_page=PAGE)
    assert only_page.status_code == 422 and rows(engine, schema.chat_webhooks) == []

    assert (
        save_chat_page(owner_client, csrf, world.q1, zalo_secret="Zq9sK2oa-secret").status_code
        == 302
    )
    (row,) = rows(engine, schema.chat_webhooks)
    assert row.zalo_secret and "Zq9sK2oa" not in row.zalo_secret  # sealed at rest
    page_html = owner_client.get(f"/locations/{world.q1}/chat").get_data(as_text=True)
    assert "Zq9sK2oa" not in page_html
    assert f"/api/v1/webhooks/zalo-oa/{row.token}" in page_html
    with engine.connect() as conn:
        audit = conn.execute(schema.audit_log.select()).all()
    assert any(a.action == "chat_webhooks_edit" for a in audit)
    token = csrf(viewer_client, f"/locations/{world.q1}/chat")
    viewer = viewer_client.post(
        f"/locations/{world.q1}/chat", data={"csrf_token": token, "zalo_secret": "x" * 10}
    )
    assert viewer.status_code == 403


def test_merge_keeps_one_psid_per_page(engine, world, factory):
    from porchlight.admin.chat.messenger import keep_contact
    from porchlight.admin.customers.merge import merge_customers
    from porchlight.admin.db import utcnow

    keep = factory.customer(world.tenant_id, "Lan", "+84912345678", visits=[])
    drop = factory.customer(world.tenant_id, "Lan (Facebook)", None, visits=[])
    with engine.begin() as conn:
        keep_contact(conn, world.tenant_id, world.q1, drop, PAGE_ID, PSID, utcnow())
        keep_contact(conn, world.tenant_id, world.q1, drop, "2220001112223", "9001", utcnow())
        keep_contact(conn, world.tenant_id, world.q1, keep, "2220001112223", "9002", utcnow())
        merge_customers(conn, world.tenant_id, keep, drop)
    got = {(r.customer_id, r.page_id, r.psid) for r in rows(engine, schema.messenger_contacts)}
    assert got == {(keep, PAGE_ID, PSID), (keep, "2220001112223", "9002")}


def test_stale_referral_is_skipped(app, engine, world, messenger_location):
    client = app.test_client()
    session_id = str(uuid.uuid4())
    send_login(client, router_token(engine, world.q1), session_id=session_id)
    body = json.loads(messenger_body(_guest_ref(engine, world.q1, session_id)))
    body["entry"][0]["messaging"][0]["timestamp"] = int((time.time() - 2 * 86400) * 1000)
    answer = post_messenger(client, messenger_location, json.dumps(body).encode())
    assert answer.status_code == 200 and answer.get_json() == {"ignored": True}
    assert rows(engine, schema.messenger_contacts) == []


def test_a_chain_sharing_one_page_links_every_locations_guests(
    app, engine, world, owner_client, csrf, messenger_location
):
    """Meta calls one URL per app: Q3's guest's ref (Q3's key) counts at Q1's hook."""
    answer = save_chat_page(
        owner_client, csrf, world.q3, messenger_page=PAGE, messenger_page_id=PAGE_ID
    )
    assert answer.status_code == 302
    client = app.test_client()
    session_id = str(uuid.uuid4())
    send_login(client, router_token(engine, world.q3), session_id=session_id)
    ref = _guest_ref(engine, world.q3, session_id)
    answer = post_messenger(client, messenger_location, messenger_body(ref))
    assert answer.get_json() == {"result": ["linked"]}
    (contact,) = rows(engine, schema.messenger_contacts)
    assert contact.location_id == world.q3 and contact.psid == PSID
