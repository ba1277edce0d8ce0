"""Sign-in, sign-out, the account page and the language switcher (blueprint ``auth``).

Passwords are hashed by werkzeug (scrypt). Failed sign-ins are counted per
client address, per (account, address) and per account (a slow-down, never a
lock) in `rate_limits` (admin/signin_limits.py). Sessions live on the server
(admin/sessions.py): every request looks its session up, so sign-out, "sign
out everywhere" and a password change end sessions at once, copied cookies
included.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from porchlight.admin import schema, signin_limits
from porchlight.admin import sessions as server_sessions
from porchlight.admin.audit import audit
from porchlight.admin.client import client_ip, safe_next
from porchlight.admin.db import get_engine, utcnow
from porchlight.admin.i18n import LOCALES
from porchlight.admin.scope import require_role

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "basic"

# A real hash to compare against when the e-mail is unknown (same timing).
_DUMMY_HASH = generate_password_hash("porchlight-dummy-password")
MIN_PASSWORD = 10


class User(UserMixin):
    """The signed-in admin user (a row of `users`)."""

    def __init__(self, row: Any, session_id: str = "") -> None:
        self.id = int(row.id)
        self.tenant_id = int(row.tenant_id)
        self.email = str(row.email)
        self.name = str(row.name or "")
        self.role = str(row.role)
        self.locale = str(row.locale)
        self.tenant_country = str(row.tenant_country or "VN")  # money's currency
        self.session_id = session_id  # "s:<token>" (admin/sessions.py)
        self._active = bool(row.is_active)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self._active

    def get_id(self) -> str:
        return self.session_id

    @property
    def can_edit(self) -> bool:
        return self.role in ("owner", "manager")


def _user_row() -> sa.Select[Any]:
    """A user's row with their tenant's country, as `User` takes it."""
    u, t = schema.users, schema.tenants
    return sa.select(u, t.c.country.label("tenant_country")).join_from(
        u, t, t.c.id == u.c.tenant_id
    )


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a live server-side session (looked up on every request)."""
    with get_engine().begin() as conn:
        row = server_sessions.load(conn, session_id)
    if row is None or not row.is_active:
        return None
    return User(row, session_id)


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def _too_many(verdict: signin_limits.Verdict, next_url: str, email: str) -> ResponseReturnValue:
    if verdict.reason == "slow_down":
        message = _(
            "Too many failed sign-ins for this account. Wait %(n)s seconds and try again.",
            n=verdict.retry_after,
        )
    else:
        message = _(
            "Too many failed sign-ins. Wait %(n)s seconds and try again.", n=verdict.retry_after
        )
    flash(message, "error")
    response = current_app.make_response(
        (render_template("login.html", next=next_url, email=email), 429)
    )
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


def sign_in(user: User) -> None:
    """A fresh server-side session for `user` in a fresh cookie (no fixation)."""
    with get_engine().begin() as conn:
        session_id = server_sessions.start(
            conn, user.id, ip=client_ip(), user_agent=request.headers.get("User-Agent")
        )
    user.session_id = session_id
    session.clear()
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"), url_for("dashboard.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    if request.method == "GET":
        return render_template("login.html", next=next_url, email="")
    email = (request.form.get("email") or "").strip().lower()[:254]
    password = request.form.get("password") or ""
    address = client_ip()
    engine = get_engine()
    with engine.connect() as conn:
        verdict = signin_limits.check(conn, email, address, current_app.config)
    if not verdict.allowed:
        log.warning("sign-in refused (%s) for %s from %s", verdict.reason, email, address)
        return _too_many(verdict, next_url, email)
    with engine.connect() as conn:
        row = conn.execute(_user_row().where(schema.users.c.email == email)).first()
    ok = check_password_hash(row.password_hash if row else _DUMMY_HASH, password)
    if row is None or not ok or not row.is_active:
        with engine.begin() as conn:
            signin_limits.failed(conn, email, address, current_app.config)
            if row is not None:
                audit(conn, "login_failed", "user", row.id, tenant_id=row.tenant_id)
        flash(_("Wrong e-mail or password."), "error")
        return render_template("login.html", next=next_url, email=email), 401
    user = User(row)
    with engine.begin() as conn:
        signin_limits.succeeded(conn, email, address)
        conn.execute(
            schema.users.update().where(schema.users.c.id == user.id).values(last_login_at=utcnow())
        )
        audit(conn, "login", "user", user.id, tenant_id=user.tenant_id, user_id=user.id)
    sign_in(user)
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        with get_engine().begin() as conn:
            server_sessions.end(conn, current_user.session_id)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account")
@require_role()
def account() -> ResponseReturnValue:
    with get_engine().connect() as conn:
        open_sessions = server_sessions.count(conn, current_user.id)
    return render_template("account.html", open_sessions=open_sessions, min_password=MIN_PASSWORD)


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@require_role()
def sign_out_everywhere() -> ResponseReturnValue:
    """End every session of this user, this browser's too."""
    with get_engine().begin() as conn:
        ended = server_sessions.end_all(conn, current_user.id)
        audit(conn, "sessions.end_all", "user", current_user.id, {"sessions": ended})
    logout_user()
    session.clear()
    flash(_("You were signed out on every device."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["POST"])
@require_role()
def change_password() -> ResponseReturnValue:
    """A new password; every other session of this user ends, this one starts afresh."""
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    users = schema.users
    with get_engine().connect() as conn:
        row = conn.execute(_user_row().where(users.c.id == current_user.id)).one()
    if not check_password_hash(row.password_hash, current):
        flash(_("The current password is wrong."), "error")
        return redirect(url_for("auth.account")), 303
    if len(new) < MIN_PASSWORD or new != request.form.get("new_password_again"):
        flash(
            _(
                "The new password needs at least %(n)s characters, typed twice the same.",
                n=MIN_PASSWORD,
            ),
            "error",
        )
        return redirect(url_for("auth.account")), 303
    with get_engine().begin() as conn:
        conn.execute(
            users.update().where(users.c.id == row.id).values(password_hash=hash_password(new))
        )
        ended = server_sessions.end_all(conn, row.id)
        audit(conn, "password_changed", "user", row.id, {"sessions_ended": ended})
    sign_in(User(row))
    flash(_("Password changed. Other devices were signed out."), "success")
    return redirect(url_for("auth.account")), 303


@bp.route("/locale", methods=["POST"])
def set_locale() -> ResponseReturnValue:
    """Switch the UI language (kept on the user, or in the session before sign-in)."""
    code = request.form.get("locale", "")
    back = safe_next(request.form.get("next"), url_for("dashboard.index"))
    if code not in LOCALES:
        return redirect(back)
    session["locale"] = code
    if current_user.is_authenticated:
        with get_engine().begin() as conn:
            conn.execute(
                schema.users.update()
                .where(schema.users.c.id == current_user.id)
                .values(locale=code)
            )
        current_user.locale = code
    return redirect(back)
