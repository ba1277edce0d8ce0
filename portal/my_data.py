"""``/my-data``: the guest's own say from the Wi-Fi page (a device that logged in).

GET shows what the router keeps about the device's guest (name, phone and
e-mail masked, visits here, consents); POST ``action=withdraw`` withdraws
marketing consent in one tap, ``action=erase`` (with ``confirm=yes``) asks the
venue to erase the guest. The agent queues both as events for the admin
(agent/guest_data.py). Only a device online now (its MAC behind this IP, as
the kernel says) sees anything; the form token is bound to the IP.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from porchlight.agent_client import AgentError, AgentUnavailable
from porchlight.guest_page.i18n import N_, text, translate
from porchlight.guest_page.my_data import render_my_data
from porchlight.portal.agent_link import is_online
from porchlight.portal.context import client_ip, guest_language, safe_lang, state
from porchlight.portal.tokens import TokenError

log = logging.getLogger(__name__)
bp = Blueprint("my_data", __name__)

NOTICES = {
    "withdrawn": N_("You will no longer get offers or news from this venue."),
    "not_withdrawn": N_("There was no consent to withdraw."),
    "erase_sent": N_("Your request was sent to the venue."),
    "confirm": N_("Tick the box to confirm."),
}


def _page(config: dict[str, Any], lang: str, data: Any, notice: str | None, status: int = 200):
    ip = client_ip()
    body = render_my_data(
        config,
        lang,
        data,
        csrf_token=state().tokens.issue(ip),
        notice=translate(lang, NOTICES[notice]) if notice else None,
    )
    return Response(body, status, content_type="text/html; charset=utf-8")


def _message(config: dict[str, Any], lang: str, key: str, status: int) -> BaseResponse:
    from porchlight.guest_page import page

    body = page.render_message(
        config, lang, heading=text(lang, key), link={"url": "/", "label": text(lang, "back")}
    )
    return Response(body, status, content_type="text/html; charset=utf-8")


def _online_mac(config: dict[str, Any], lang: str) -> str | BaseResponse:
    """The MAC of this IP's device if it is online now, else the page to show instead."""
    try:
        client = state().agent.client_for_ip(client_ip(), fresh=True)
    except (AgentUnavailable, AgentError):
        return _message(config, lang, "err_agent_down", 503)
    if not is_online(client) or client is None:
        return redirect(url_for("login.index"), code=303)
    return str(client.get("mac"))


def _call(action: str, mac: str) -> dict[str, Any]:
    return state().agent.client.call(action, mac=mac)


@bp.get("/my-data")
def show() -> BaseResponse:
    config, _ = state().agent.config_or_fallback()
    lang = guest_language(config)
    mac = _online_mac(config, lang)
    if not isinstance(mac, str):
        return mac
    try:
        data = _call("my_data", mac).get("data")
    except AgentUnavailable:
        return _message(config, lang, "err_agent_down", 503)
    except AgentError:
        return redirect(url_for("login.index"), code=303)
    return _page(
        config,
        lang,
        data,
        request.args.get("done") if request.args.get("done") in NOTICES else None,
    )


@bp.post("/my-data")
def act() -> BaseResponse:
    portal = state()
    config, _ = portal.agent.config_or_fallback()
    lang = guest_language(config, safe_lang(request.form.get("lang")))
    try:
        portal.tokens.check(request.form.get("csrf_token"), client_ip())
    except TokenError:
        return _message(config, lang, "err_csrf", 400)
    if not portal.limiter.hit("ip:" + client_ip(), *portal.ip_rate):
        return _message(config, lang, "err_rate_limited", 429)
    mac = _online_mac(config, lang)
    if not isinstance(mac, str):
        return mac
    action = request.form.get("action")
    try:
        if action == "withdraw":
            changed = _call("withdraw_marketing", mac).get("changed")
            done = "withdrawn" if changed else "not_withdrawn"
        elif action == "erase" and request.form.get("confirm") == "yes":
            _call("request_erasure", mac)
            done = "erase_sent"
        elif action == "erase":
            return _page(config, lang, _call("my_data", mac).get("data"), "confirm", 422)
        else:
            return _message(config, lang, "err_not_found", 400)
    except AgentUnavailable:
        return _message(config, lang, "err_agent_down", 503)
    except AgentError:
        return redirect(url_for("login.index"), code=303)
    return redirect(url_for("my_data.show", done=done, lang=lang), code=303)
