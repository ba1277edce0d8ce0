"""The login page, the form post, the success page and the logo.

Form fields (what a plain HTTP client posts to ``/login``): ``csrf_token``
(from the hidden input), ``lang``, ``channel`` (form, click, voucher,
returning, zalo, facebook, google), ``name``, ``phone``, ``email``,
``voucher``, ``consent_<purpose>=yes`` (e.g. ``consent_wifi``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from porchlight.agent_client import AgentError, AgentUnavailable
from porchlight.guest_page import guest_form
from porchlight.portal import oauth, welcome_back
from porchlight.portal.agent_link import is_online
from porchlight.portal.context import client_ip, guest_language, safe_lang, state
from porchlight.portal.login_pages import complete_login, render_form, render_success
from porchlight.portal.logo import load_logo
from porchlight.portal.providers import available
from porchlight.portal.tokens import TokenError

log = logging.getLogger(__name__)
bp = Blueprint("login", __name__)


@bp.get("/")
def index() -> BaseResponse:
    agent = state().agent
    config, reachable = agent.config_or_fallback()
    lang = guest_language(config)
    if not reachable:
        return render_form(config, lang, status=503, notice="err_agent_down")
    try:
        client = agent.client_for_ip(client_ip(), fresh=True)
    except AgentUnavailable:
        return render_form(config, lang, status=503, notice="err_agent_down")
    except AgentError as exc:
        log.warning("client_for_ip %s: %s", client_ip(), exc)
        client = None
    if is_online(client):
        return render_success(config, lang, client)
    notice = "err_blocked" if client and client.get("state") == "blocked" else None
    return render_form(
        config, lang, notice=notice, remembered=welcome_back.offer((client or {}).get("remembered"))
    )


def _wait_until_online(ip: str, seconds: float = 1.5) -> dict[str, Any] | None:
    """After a repeated post: the first one may still be getting the guest online."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            client = state().agent.client_for_ip(ip, fresh=True)
        except (AgentUnavailable, AgentError):
            return None
        if is_online(client) or time.monotonic() > deadline:
            return client
        time.sleep(0.2)


@bp.post("/login")
def submit() -> BaseResponse:
    portal = state()
    ip = client_ip()
    config, reachable = portal.agent.config_for_post(
        request.form.get("config_tag"), request.form.get("channel")
    )
    lang = guest_language(config, safe_lang(request.form.get("lang")))

    known: dict[str, Any] = {}  # the remembered device, once the agent said so

    def again(status: int, notice: str | None = None, **kw: Any) -> BaseResponse:
        kw.setdefault("remembered", known.get("remembered"))
        return render_form(config, lang, status=status, notice=notice, keep_values=True, **kw)

    if not reachable:
        return again(503, "err_agent_down")
    try:
        token = portal.tokens.check(request.form.get("csrf_token"), ip)
    except TokenError:
        return again(400, "err_csrf")
    if not portal.limiter.hit("ip:" + ip, *portal.ip_rate):
        return again(429, "err_rate_limited")
    try:
        client = portal.agent.client_for_ip(ip, fresh=True)
    except AgentUnavailable:
        return again(503, "err_agent_down")
    except AgentError as exc:
        log.warning("client_for_ip %s: %s", ip, exc)
        return again(503, "err_agent_down")
    if client is None:
        return again(409, "err_mac_not_found")
    if not portal.limiter.hit("mac:" + str(client.get("mac")), *portal.mac_rate):
        return again(429, "err_rate_limited")
    if is_online(client):
        return redirect(url_for("login.success", lang=lang), code=303)
    if client.get("state") == "blocked":
        return again(403, "err_blocked")
    if not portal.limiter.first_use(token.nonce):
        client = _wait_until_online(ip)
        if is_online(client):
            return redirect(url_for("login.success", lang=lang), code=303)
        return again(409, "err_form_reused")

    channel = request.form.get("channel") or "form"
    remembered = welcome_back.offer(client.get("remembered"))
    known["remembered"] = remembered
    if channel == "returning" and remembered is None:
        return again(422, "err_channel_unavailable")
    if channel in guest_form.SOCIAL_CHANNELS:
        if channel not in available(config):
            return again(422, "err_channel_unavailable")
        errors: dict[str, str] = {}
        consents = guest_form.check_consents(request.form, config, errors)
        if errors:
            return again(422, errors=errors)
        return oauth.start(channel, consents, lang, config)
    result = guest_form.validate_login(request.form, channel, config)
    if result.login is None:
        return again(422, errors=result.errors)
    if channel == "returning":
        result.login["proof"] = welcome_back.proof_from_request()
    return complete_login(config, lang, client, result.login, on_error=again)


@bp.get("/success")
def success() -> BaseResponse:
    agent = state().agent
    config, _ = agent.config_or_fallback()
    lang = guest_language(config)
    try:
        client = agent.client_for_ip(client_ip(), fresh=True)
    except (AgentUnavailable, AgentError):
        client = None
    if not is_online(client):
        return redirect(url_for("login.index"), code=303)
    return render_success(config, lang, client)


@bp.get("/logo")
def logo() -> BaseResponse:
    config, _ = state().agent.config_or_fallback()
    found = load_logo(config, int(current_app.config["LOGO_MAX_BYTES"]))
    if found is None:
        abort(404)
    content_type, data = found
    response = Response(data, 200, content_type=content_type)
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
