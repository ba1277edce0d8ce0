"""Sessions end on the server: a cookie copied before sign-out opens nothing after it.

Also: the session cookie says SameSite=Lax and HttpOnly; "sign out
everywhere", a password change, a role change, removing or deactivating the
user end every session of that user on the very next request.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.user_access import remove_user, set_role, sign_out_user
from porchlight.admin.users import reset_password

PASSWORD = "correct horse battery"  # conftest's test password
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client, path="/"):
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    return _TOKEN.search(html).group(1)


def _sign_in(app, email, password=PASSWORD, address="192.0.2.10"):
    """A browser that signed in through the form; returns (client, its Set-Cookie)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    data = {"email": email, "password": password, "csrf_token": _csrf(client, "/login")}
    resp = client.post("/login", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client, resp.headers.get("Set-Cookie", "")


def _copy(app, client):
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie("session")
    thief = app.test_client()
    thief.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    thief.set_cookie("session", cookie.value)
    return thief


def _signed_in(client) -> bool:
    resp = client.get("/customers")
    assert resp.status_code in (200, 302)
    return resp.status_code == 200


def test_the_session_cookie_is_samesite_lax_and_httponly(app, world):
    _client, set_cookie = _sign_in(app, world.users["owner"]["email"])
    assert set_cookie.startswith("session=")
    assert "SameSite=Lax" in set_cookie
    assert "HttpOnly" in set_cookie


@pytest.mark.both_dbs
def test_a_cookie_copied_before_sign_out_stops_working_after_it(app, world):
    client, _ = _sign_in(app, world.users["owner"]["email"])
    thief = _copy(app, client)
    assert _signed_in(client) and _signed_in(thief)
    resp = client.post("/logout", data={"csrf_token": _csrf(client)})
    assert resp.status_code == 302
    assert not _signed_in(client)
    assert not _signed_in(thief)  # the copy is dead too: the session ended on the server
    assert thief.get("/customers/count").status_code == 302


def test_signing_out_one_browser_leaves_the_others_signed_in(app, world):
    email = world.users["manager"]["email"]
    laptop, _ = _sign_in(app, email)
    phone, _ = _sign_in(app, email, address="192.0.2.11")
    laptop.post("/logout", data={"csrf_token": _csrf(laptop)})
    assert not _signed_in(laptop)
    assert _signed_in(phone)


def test_sign_out_everywhere_ends_every_session_of_the_user(app, world):
    email = world.users["owner"]["email"]
    laptop, _ = _sign_in(app, email)
    phone, _ = _sign_in(app, email, address="192.0.2.11")
    thief = _copy(app, phone)
    someone_else, _ = _sign_in(app, world.users["viewer"]["email"])
    page = laptop.get("/account").get_data(as_text=True)
    assert "signed in on 2 browsers" in page
    resp = laptop.post("/account/sign-out-everywhere", data={"csrf_token": _csrf(laptop)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert not _signed_in(laptop)
    assert not _signed_in(phone)
    assert not _signed_in(thief)
    assert _signed_in(someone_else)


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, world):
    email = world.users["owner"]["email"]
    laptop, _ = _sign_in(app, email)
    phone, _ = _sign_in(app, email, address="192.0.2.11")
    data = {
        "current_password": PASSWORD,
        "new_password": "a much better password",
        "new_password_again": "a much better password",
        "csrf_token": _csrf(laptop, "/account"),
    }
    resp = laptop.post("/account/password", data=data)
    assert resp.status_code == 303
    assert _signed_in(laptop)
    assert not _signed_in(phone)
    assert _sign_in(app, email, "a much better password", address="192.0.2.12")[0]
    bad = app.test_client()
    bad.environ_base["REMOTE_ADDR"] = "192.0.2.13"
    data = {"email": email, "password": PASSWORD, "csrf_token": _csrf(bad, "/login")}
    assert bad.post("/login", data=data).status_code == 401


def test_a_wrong_current_password_changes_nothing(app, world):
    email = world.users["owner"]["email"]
    laptop, _ = _sign_in(app, email)
    phone, _ = _sign_in(app, email, address="192.0.2.11")
    data = {
        "current_password": "not my password",
        "new_password": "a much better password",
        "new_password_again": "a much better password",
        "csrf_token": _csrf(laptop, "/account"),
    }
    laptop.post("/account/password", data=data)
    assert _signed_in(laptop) and _signed_in(phone)


@pytest.mark.parametrize("change", ["reset_password", "set_role", "remove_user", "sign_out_user"])
def test_operator_changes_end_the_users_sessions(app, world, engine, change):
    email = world.users["manager"]["email"]
    client, _ = _sign_in(app, email)
    thief = _copy(app, client)
    assert _signed_in(client)
    with engine.begin() as conn:
        if change == "reset_password":
            reset_password(conn, email, "another long password")
        elif change == "set_role":
            set_role(conn, email, "viewer")
        elif change == "remove_user":
            remove_user(conn, email)
        else:
            sign_out_user(conn, email)
    assert not _signed_in(client)
    assert not _signed_in(thief)


def test_a_deactivated_user_is_signed_out_at_once(app, world, engine):
    client, _ = _sign_in(app, world.users["viewer"]["email"])
    with engine.begin() as conn:
        conn.execute(
            schema.users.update()
            .where(schema.users.c.id == world.users["viewer"]["id"])
            .values(is_active=False)
        )
    assert not _signed_in(client)


def test_old_style_cookies_open_nothing(app, world):
    """A cookie of the old kind ("<user id>:<version>") names no session."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{world.users['owner']['id']}:1"
    assert not _signed_in(client)


def test_sessions_are_stored_hashed(app, world, engine):
    client, _ = _sign_in(app, world.users["owner"]["email"])
    with client.session_transaction() as sess:
        session_id = sess["_user_id"]
    token = session_id.removeprefix("s:")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(schema.user_sessions.c.token_hash)).scalars().all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64
