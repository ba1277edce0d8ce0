"""The pages a login ends on, shared by every way in (form, voucher, social).

- `render_form(config, lang, ...)` — the login form (again, with errors or a notice);
- `render_success(config, lang, client)` — "you are online";
- `complete_login(config, lang, client, login, on_error=...)` — ask the agent to
  let the guest online and map its refusals to the guest's words.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from porchlight.agent_client import AgentError, AgentUnavailable
from porchlight.guest_page import guest_form, page
from porchlight.guest_page.i18n import LANGUAGES
from porchlight.portal import welcome_back
from porchlight.portal.context import LANG_COOKIE, client_ip, state
from porchlight.portal.logo import logo_src
from porchlight.portal.providers import available

log = logging.getLogger(__name__)

VOUCHER_ERRORS = ("voucher_invalid", "voucher_used_up", "voucher_expired", "voucher_device_limit")
KEPT_FIELDS = ("name", "phone", "email", "voucher")


def _html(body: str, status: int = 200) -> BaseResponse:
    response = Response(body, status, content_type="text/html; charset=utf-8")
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, str(lang), max_age=365 * 86400, samesite="Lax")
    return response


def render_form(
    config: dict[str, Any],
    lang: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    remembered: dict[str, Any] | None = None,
    keep_values: bool = False,
) -> BaseResponse:
    values: dict[str, str] = {}
    if keep_values:
        values = {k: (request.form.get(k) or "")[:200].strip() for k in KEPT_FIELDS}
        for item in guest_form.consent_items(config):
            key = f"consent_{item['purpose']}"
            values[key] = "yes" if request.form.get(key) == "yes" else ""
    body = page.render_login(
        config,
        lang,
        csrf_token=state().tokens.issue(client_ip()),
        values=values,
        errors=errors,
        notice=notice,
        remembered=remembered,
        social=available(config),
        logo_src=logo_src(config),
        config_tag=state().agent.config_tag(),
    )
    return _html(body, status)


def render_success(
    config: dict[str, Any], lang: str, client: dict[str, Any] | None
) -> BaseResponse:
    remaining = (client or {}).get("seconds_remaining")
    session_id = (client or {}).get("session_id")
    body = page.render_success(
        config,
        lang,
        seconds_remaining=remaining if isinstance(remaining, int) else None,
        logo_src=logo_src(config),
        session_id=session_id if isinstance(session_id, str) else None,
    )
    return _html(body)


def complete_login(
    config: dict[str, Any],
    lang: str,
    client: dict[str, Any],
    login: dict[str, Any],
    *,
    on_error: Callable[..., BaseResponse],
) -> BaseResponse:
    """Ask the agent to let the guest online; map its refusals to the guest's words."""
    ip = client_ip()
    login = {
        **login,
        "device": {
            "ip": ip,
            "hostname": client.get("hostname"),
            "vendor_class": client.get("vendor_class"),
            "randomized": bool(client.get("randomized")),
        },
    }
    try:
        session = state().agent.authorize(str(client["mac"]), ip, login)
    except AgentUnavailable:
        return on_error(503, "err_agent_down")
    except AgentError as exc:
        if exc.code in VOUCHER_ERRORS:
            return on_error(422, errors={"voucher": "err_" + exc.code})
        if exc.code == "blocked":
            return on_error(403, "err_blocked")
        if exc.code == "not_found":
            return on_error(409, "err_mac_not_found")
        if exc.code == "returning_proof":
            return on_error(422, errors={welcome_back.DIGITS_FIELD: "err_returning_proof"})
        log.error("agent refused authorize for %s: %s %s", ip, exc.code, exc)
        return on_error(500, "err_internal")
    log.info("guest %s online by %s", client.get("mac"), login["channel"])
    response = redirect(url_for("login.success", lang=lang), code=303)
    welcome_back.keep_proof(response, session.get("proof"), config)
    return response
