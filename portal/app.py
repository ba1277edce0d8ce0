"""The guest portal's Flask application factory.

The portal has no database: it asks the agent (Unix socket) for the location
config and the client behind an IP, and asks it to authorize a MAC.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from porchlight.guest_page import page
from porchlight.guest_page.i18n import text
from porchlight.portal import detection, login, my_data, oauth
from porchlight.portal.agent_link import AgentLink
from porchlight.portal.context import PortalState, guest_language, state
from porchlight.portal.providers import provider_origins
from porchlight.portal.ratelimit import RateLimiter
from porchlight.portal.settings import load_settings, parse_rate
from porchlight.portal.tokens import FormTokens

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16 * 1024


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    settings = load_settings(config)
    app = Flask(__name__, static_folder=None, template_folder=None)
    app.config.update(settings)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES,
        SESSION_COOKIE_NAME="pl_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=1800,
    )
    state_dir = settings.get("PORTAL_STATE_DIR")
    limiter_path = None
    if state_dir:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        limiter_path = os.path.join(state_dir, "portal-limits.sqlite")
    app.extensions["porchlight_portal"] = PortalState(
        agent=AgentLink(
            settings["AGENT_SOCKET"],
            timeout=float(settings["AGENT_TIMEOUT"]),
            config_ttl=float(settings["CONFIG_CACHE_SECONDS"]),
            client_ttl=float(settings["CLIENT_CACHE_SECONDS"]),
        ),
        tokens=FormTokens(settings["SECRET_KEY"], max_age=int(settings["FORM_MAX_AGE"])),
        limiter=RateLimiter(limiter_path),
        mac_rate=parse_rate(settings["RATE_LIMIT_PER_MAC"]),
        ip_rate=parse_rate(settings["RATE_LIMIT_PER_IP"]),
        logos={},
    )

    app.register_blueprint(detection.bp)
    app.wsgi_app = detection.ProbeFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    app.register_blueprint(login.bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(my_data.bp)  # the guest's own say (issue 20)
    app.session_interface = LoginOnlySessions()
    headers = security_headers(settings)
    app.after_request(lambda response: _add_headers(response, headers))
    for code, key in ((404, "err_not_found"), (405, "err_not_found"), (413, "err_internal")):
        app.register_error_handler(code, _error_page(code, key))
    app.register_error_handler(500, _error_page(500, "err_internal"))
    return app


def _error_page(status: int, key: str) -> Any:
    def handler(error: Exception) -> Response:
        config, _ = state().agent.config_or_fallback()
        lang = guest_language(config)
        body = page.render_message(
            config,
            lang,
            heading=text(lang, key),
            link={"url": "/", "label": text(lang, "back")},
        )
        return Response(body, status, content_type="text/html; charset=utf-8")

    return handler


class LoginOnlySessions(SecureCookieSessionInterface):
    """The signed session cookie is only needed by the login and social-login views.

    Probes (thousands a minute) skip opening it: no key derivation per request.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path == "/login" or request.path.startswith("/oauth/"):
            return super().open_session(app, request)
        return self.null_session_class()


def security_headers(settings: Mapping[str, Any]) -> dict[str, str]:
    form_action = " ".join(["'self'", *provider_origins(settings.get("OAUTH_PROVIDERS") or {})])
    return {
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
        f"img-src 'self' data:; form-action {form_action}; frame-ancestors 'none'; "
        "base-uri 'none'",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _add_headers(response: Response, headers: dict[str, str]) -> Response:
    present = response.headers
    if response.status_code in (204, 302) and not response.content_length:
        present["X-Content-Type-Options"] = "nosniff"  # nothing rendered: no CSP needed
        return response
    for key, value in headers.items():
        if key not in present:
            present[key] = value
    if request.path.startswith("/api/"):
        present["Cache-Control"] = "private, no-store"
    return response
