"""The admin web app factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Flask, Response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from porchlight.admin import audit, auth, dashboard, i18n, metrics, team
from porchlight.admin.auth import login_manager
from porchlight.admin.chat import settings_page as chat_settings_page
from porchlight.admin.chat import webhook_routes as chat_webhooks
from porchlight.admin.config import AdminConfig
from porchlight.admin.customers import groups, list_page, merge, segments
from porchlight.admin.customers import page as customer_page
from porchlight.admin.db import make_engine
from porchlight.admin.io import downloads
from porchlight.admin.io.imports import pages as import_pages
from porchlight.admin.locations import guest_page, routers, vouchers
from porchlight.admin.locations import pages as location_pages
from porchlight.admin.privacy import pages as privacy_pages
from porchlight.admin.sync import routes as sync_api

log = logging.getLogger(__name__)

csrf = CSRFProtect()
# The router API authenticates each request with a device token, not a session cookie.
csrf.exempt(sync_api.bp)
# Zalo and Meta sign their webhook deliveries (admin/chat/webhook_routes.py).
csrf.exempt(chat_webhooks.bp)

# Each area is a module exposing `bp` (a Blueprint). Areas add their own line.
BLUEPRINTS: list[Blueprint] = [
    auth.bp,
    dashboard.bp,
    list_page.bp,
    customer_page.bp,
    merge.bp,
    groups.bp,
    audit.bp,
    sync_api.bp,
    location_pages.bp,
    routers.bp,
    guest_page.bp,
    vouchers.bp,
    downloads.bp,
    import_pages.bp,
    privacy_pages.bp,
    metrics.bp,
    team.bp,
    segments.bp,
    chat_webhooks.bp,
    chat_settings_page.bp,
]

# Content-Security-Policy: nothing from other origins, no inline script.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the admin app. Refuses to start without a SECRET_KEY."""
    settings = AdminConfig.from_env(config)
    app = Flask(__name__)
    app.config.from_mapping(settings.as_flask())
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    if settings.PROXY_COUNT > 0:
        trusted = settings.PROXY_COUNT
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted
        )
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # tied to the session instead
    app.extensions["porchlight.engine"] = make_engine(settings.DATABASE_URL)
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    _register_errors(app)
    app.after_request(_security_headers)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.mimetype == "text/html":
        headers.setdefault("Cache-Control", "no-store")
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        log.warning("CSRF check failed on %s: %s", request.path, error.description)
        return (
            render_template(
                "error.html",
                code=400,
                title=_("This form has expired"),
                message=_(
                    "The page was open too long or did not come from Porchlight. "
                    "Go back, reload the page and try again."
                ),
            ),
            400,
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if _wants_json():
            return {"error": error.name, "message": error.description}, error.code or 500
        titles = {
            400: _("Bad request"),
            401: _("Please sign in"),
            403: _("You may not do this"),
            404: _("Not found"),
            405: _("Not allowed"),
            413: _("The file is too large"),
            429: _("Too many requests"),
        }
        code = error.code or 500
        return (
            render_template(
                "error.html",
                code=code,
                title=titles.get(code, error.name),
                message=_("Check the address or go back to the dashboard."),
            ),
            code,
        )
