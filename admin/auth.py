"""Sign-in, sign-out and the language switcher (blueprint ``auth``).

Passwords are hashed by werkzeug (scrypt). Failed sign-ins are counted per IP
address and per account in `rate_limits` (shared by every worker). A
password reset bumps `users.session_version`, which ends old sessions.
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

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.i18n import LOCALES
from porchlight.admin.web import (
    audit,
    clear_rate_limit,
    client_ip,
    get_engine,
    rate_limit_count,
    rate_limited,
    safe_next,
)

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

    def __init__(self, row: Any) -> None:
        self.id = int(row.id)
        self.tenant_id = int(row.tenant_id)
        self.email = str(row.email)
        self.name = str(row.name or "")
        self.role = str(row.role)
        self.locale = str(row.locale)
        self.session_version = int(row.session_version)
        self._active = bool(row.is_active)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self._active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def can_edit(self) -> bool:
        return self.role in ("owner", "manager")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        raw_id, raw_version = user_id.split(":", 1)
        uid, version = int(raw_id), int(raw_version)
    except ValueError:
        return None
    with get_engine().connect() as conn:
        row = conn.execute(sa.select(schema.users).where(schema.users.c.id == uid)).first()
    if row is None or not row.is_active or int(row.session_version) != version:
        return None
    return User(row)


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"), url_for("dashboard.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    if request.method == "GET":
        return render_template("login.html", next=next_url, email="")
    email = (request.form.get("email") or "").strip().lower()[:254]
    password = request.form.get("password") or ""
    cfg = current_app.config
    window = int(cfg["LOGIN_LIMIT_WINDOW_SECONDS"])
    ip_key, email_key = f"login-ip:{client_ip()}", f"login-email:{email}"
    engine = get_engine()
    with engine.begin() as conn:
        blocked = rate_limit_count(conn, ip_key, window) >= int(
            cfg["LOGIN_LIMIT_PER_IP"]
        ) or rate_limit_count(conn, email_key, window) >= int(cfg["LOGIN_LIMIT_PER_EMAIL"])
    if blocked:
        log.warning("sign-in rate limit hit for %s from %s", email, client_ip())
        flash(_("Too many failed sign-ins. Wait 15 minutes and try again."), "error")
        response = current_app.make_response(
            (render_template("login.html", next=next_url, email=email), 429)
        )
        response.headers["Retry-After"] = str(window)
        return response
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.users).where(schema.users.c.email == email)).first()
    ok = check_password_hash(row.password_hash if row else _DUMMY_HASH, password)
    if row is None or not ok or not row.is_active:
        with engine.begin() as conn:
            rate_limited(conn, ip_key, int(cfg["LOGIN_LIMIT_PER_IP"]), window)
            rate_limited(conn, email_key, int(cfg["LOGIN_LIMIT_PER_EMAIL"]), window)
            if row is not None:
                audit(conn, "login_failed", "user", row.id, tenant_id=row.tenant_id)
        flash(_("Wrong e-mail or password."), "error")
        return render_template("login.html", next=next_url, email=email), 401
    user = User(row)
    with engine.begin() as conn:
        clear_rate_limit(conn, email_key)
        conn.execute(
            schema.users.update().where(schema.users.c.id == user.id).values(last_login_at=utcnow())
        )
        audit(conn, "login", "user", user.id, tenant_id=user.tenant_id, user_id=user.id)
    session.clear()  # a fresh session on sign-in (no fixation)
    login_user(user)
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


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
