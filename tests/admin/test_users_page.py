"""An owner resets a manager's password from the Users page (no CLI needed)."""

from __future__ import annotations

import re

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from porchlight.admin import schema
from porchlight.admin.db import utcnow


def stored_hash(engine, user_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(schema.users.c.password_hash).where(schema.users.c.id == user_id)
        ).scalar_one()


def test_owner_resets_a_managers_password(engine, world, client_as, csrf, factory):
    owner, manager = client_as("owner"), client_as("manager")
    page = owner.get("/users").get_data(as_text=True)
    target = world.users["manager"]
    assert target["email"] in page and f'id="reset-{target["id"]}"' in page
    assert f'id="reset-{world.users["owner"]["id"]}"' not in page  # not yourself
    assert manager.get("/customers").status_code == 200
    token = csrf(owner, "/users")
    assert owner.post(f"/users/{target['id']}/reset-password").status_code == 400  # no CSRF
    answer = owner.post(f"/users/{target['id']}/reset-password", data={"csrf_token": token})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    new = re.search(r'<code class="secret">([^<]+)</code>', html).group(1)
    assert check_password_hash(stored_hash(engine, target["id"]), new)
    assert not check_password_hash(stored_hash(engine, target["id"]), target["password"])
    assert manager.get("/customers").status_code in (302, 401)  # their sessions ended
    with engine.connect() as conn:
        details = conn.execute(
            sa.select(schema.audit_log.c.details).where(
                schema.audit_log.c.action == "user.password_reset"
            )
        ).scalar_one()
    assert new not in str(details)  # the audit log never holds the password
    # not yourself, not another tenant's user, not as a manager
    own = world.users["owner"]["id"]
    assert owner.post(f"/users/{own}/reset-password", data={"csrf_token": token}).status_code == 404
    other = factory.tenant("elsewhere")
    with engine.begin() as conn:
        stranger = conn.execute(
            schema.users.insert().values(
                tenant_id=other,
                email="x@elsewhere.test",
                password_hash="x",
                role="manager",
                created_at=utcnow(),
            )
        ).inserted_primary_key[0]
    gone = owner.post(f"/users/{stranger}/reset-password", data={"csrf_token": token})
    assert gone.status_code == 404
    viewer = client_as("viewer")
    assert viewer.get("/users").status_code == 403


def test_the_sign_in_page_points_to_the_owner(app):
    page = app.test_client().get("/login").get_data(as_text=True)
    assert "đặt lại trên trang Người dùng" in page  # Vietnamese by default
    assert "porchlight admin reset-password" not in page
