"""Sign-in, sign-out, rate limit, CSRF, redirects, headers, language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.users import reset_password

PASSWORD = "correct horse battery"  # conftest's test password


def csrf_token(client, path="/"):
    import re

    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(client, email, password, next_url=None):
    data = {"email": email, "password": password, "csrf_token": csrf_token(client, "/login")}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data)


@pytest.mark.both_dbs
def test_sign_in_then_out(app, world):
    client = app.test_client()
    assert client.get("/customers").status_code == 302  # to sign-in
    owner = world.users["owner"]
    resp = _login(client, owner["email"].upper(), PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and "Dashboard" in page.get_data(as_text=True)
    resp = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    assert client.get("/").status_code == 302
    with app.extensions["porchlight.engine"].connect() as conn:
        actions = [r.action for r in conn.execute(sa.select(schema.audit_log))]
    assert "login" in actions


def test_wrong_password_then_the_pair_is_refused(app, world):
    """Past the (account, address) limit that address is refused for that account."""
    app.config["LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"] = 3
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    email = world.users["owner"]["email"]
    for _ in range(3):
        resp = _login(client, email, "wrong password!")
        assert resp.status_code == 401
        assert "Wrong e-mail or password" in resp.get_data(as_text=True)
    # Even the right password is refused from this address while it is over.
    resp = _login(client, email, PASSWORD)
    assert resp.status_code == 429
    assert "Too many failed sign-ins" in resp.get_data(as_text=True)
    assert resp.headers["Retry-After"]
    # ... but not from another address: the account is not locked.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert _login(other, email, PASSWORD).status_code == 302


def test_rate_limit_is_shared_by_workers(app, world, make_app):
    """Two app instances (two gunicorn workers) count into one table."""
    app.config["LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"] = 2
    other = make_app(app.config["DATABASE_URL"], LOGIN_LIMIT_PER_ACCOUNT_ADDRESS=2)
    email = world.users["owner"]["email"]
    assert _login(app.test_client(), email, "nope nope nope").status_code == 401
    assert _login(other.test_client(), email, "nope nope nope").status_code == 401
    assert _login(app.test_client(), email, PASSWORD).status_code == 429


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"],
)
def test_no_open_redirect_after_sign_in(app, world, target):
    resp = _login(app.test_client(), world.users["owner"]["email"], PASSWORD, target)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_local_next_is_followed(app, world):
    resp = _login(app.test_client(), world.users["owner"]["email"], PASSWORD, "/customers?q=an")
    assert resp.headers["Location"] == "/customers?q=an"


def test_forged_csrf_gets_a_clear_400(owner_client):
    resp = owner_client.post("/logout", data={"csrf_token": "forged"})
    assert resp.status_code == 400
    assert "This form has expired" in resp.get_data(as_text=True)
    assert owner_client.get("/").status_code == 200  # still signed in


def test_password_reset_ends_old_sessions(app, world, owner_client):
    assert owner_client.get("/").status_code == 200
    with app.extensions["porchlight.engine"].begin() as conn:
        reset_password(conn, world.users["owner"]["email"], "a brand new password")
    assert owner_client.get("/").status_code == 302


def test_security_headers(owner_client):
    resp = owner_client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_viewer_cannot_edit_groups(viewer_client):
    data = {"name": "Gold", "min_visits": "20", "csrf_token": csrf_token(viewer_client)}
    resp = viewer_client.post("/groups", data=data)
    assert resp.status_code == 403


@pytest.mark.parametrize(
    ("locale", "word"), [("vi", "Khách hàng"), ("th", "ลูกค้า"), ("en", "Customers")]
)
def test_language_switch_sticks_to_the_user(app, world, owner_client, locale, word):
    resp = owner_client.post(
        "/locale", data={"locale": locale, "next": "/", "csrf_token": csrf_token(owner_client)}
    )
    assert resp.status_code == 302
    assert word in owner_client.get("/").get_data(as_text=True)
    with app.extensions["porchlight.engine"].connect() as conn:
        stored = conn.execute(
            sa.select(schema.users.c.locale).where(schema.users.c.id == world.users["owner"]["id"])
        ).scalar_one()
    assert stored == locale


def test_sign_in_page_speaks_vietnamese_by_default(app):
    html = app.test_client().get("/login").get_data(as_text=True)
    assert 'lang="vi"' in html and "Đăng nhập" in html


def test_sign_in_page_follows_the_browser_language(app):
    html = app.test_client().get("/login", headers={"Accept-Language": "th-TH,th;q=0.9"})
    assert 'lang="th"' in html.get_data(as_text=True)
