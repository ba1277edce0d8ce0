"""Captive-portal detection: every OS's probe, foreign hosts, and the RFC 8908 API.

Before login, a probe (or any page of another host, which reaches the portal
because the agent redirects the guest's tcp/80 here) gets a 302 to the
portal's own login URL, so the phone opens its login sheet. After login the
probes answer byte for byte as the open internet does, so the sheet says
"Done" and closes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask, Response, request
from werkzeug.wrappers import Response as BaseResponse

from porchlight.agent_client import AgentError, AgentUnavailable
from porchlight.guest_page import page
from porchlight.guest_page.i18n import text
from porchlight.portal.agent_link import is_online
from porchlight.portal.context import (
    PortalState,
    base_url_for,
    client_ip,
    guest_language,
    host_is_portal,
    is_portal_host,
    portal_base_url,
    state,
)

log = logging.getLogger(__name__)
bp = Blueprint("detection", __name__)

APPLE_SUCCESS = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"
FIREFOX_CANONICAL = (
    '<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/captive-portal"/>'
)

# path -> (status, content type, body) the open internet answers.
PROBES: dict[str, tuple[int, str, str]] = {
    "/hotspot-detect.html": (200, "text/html", APPLE_SUCCESS),  # Apple iOS/macOS
    "/library/test/success.html": (200, "text/html", APPLE_SUCCESS),  # older Apple
    "/generate_204": (204, "text/plain", ""),  # Android, Chrome OS, Chrome
    "/gen_204": (204, "text/plain", ""),  # Android (some vendors)
    "/connecttest.txt": (200, "text/plain", "Microsoft Connect Test"),  # Windows 10+
    "/ncsi.txt": (200, "text/plain", "Microsoft NCSI"),  # Windows 7/8
    "/canonical.html": (200, "text/html", FIREFOX_CANONICAL),  # Firefox
    "/success.txt": (200, "text/plain", "success\n"),  # Firefox
}
CAPTIVE_API = "/api/captive"


def login_url() -> str:
    return portal_base_url() + "/"


class ProbeFastPath:
    """WSGI front for the hottest request: a probe or foreign page from a guest not online.

    Phones probe again and again while the sheet is open; answering those with a
    bare 302 here skips Flask's request machinery. Everything else (online
    guests, the portal's own pages) goes to the Flask app.
    """

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        config = self.app.config
        if path == CAPTIVE_API or (path not in PROBES and host_is_portal(environ, config)):
            return self.wsgi_app(environ, start_response)
        portal: PortalState = self.app.extensions["porchlight_portal"]
        try:
            client = portal.agent.client_for_ip(str(environ.get("REMOTE_ADDR", "")))
        except (AgentUnavailable, AgentError):
            client = None
        if is_online(client):
            return self.wsgi_app(environ, start_response)
        location = base_url_for(environ, config) + "/"
        start_response(
            "302 Found",
            [
                ("Location", location),
                ("Cache-Control", "no-store"),
                ("Content-Length", "0"),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [b""]


def _client(*, fresh: bool = False) -> dict[str, Any] | None:
    try:
        return state().agent.client_for_ip(client_ip(), fresh=fresh)
    except (AgentUnavailable, AgentError) as exc:
        log.info("probe from %s: agent cannot say (%s)", client_ip(), exc)
        return None


def _online() -> bool:
    """Whether the client is online now.

    A cached "not online" is trusted (the hot path: probes from guests before
    login). A cached "online" is checked afresh: a request that reached the
    portal for another host was redirected by the gate, so the client may have
    just been deauthorized on another worker's watch.
    """
    return is_online(_client()) and is_online(_client(fresh=True))


def _to_portal() -> BaseResponse:
    # A bare 302 (no HTML body): the cheapest answer for the most frequent request.
    return Response(status=302, headers={"Location": login_url(), "Cache-Control": "no-store"})


@bp.before_app_request
def foreign_host() -> BaseResponse | None:
    """Requests for other hosts (captive.apple.com, any web page) lead to the portal."""
    if request.path in PROBES or request.path == CAPTIVE_API or is_portal_host():
        return None
    if not _online():
        return _to_portal()
    # Online, yet this request came through a connection redirected before login
    # (keep-alive): say so, with a link to the page (a new connection reaches it).
    config, _ = state().agent.config_or_fallback()
    lang = guest_language(config)
    target = f"http://{request.host}{request.full_path.rstrip('?')}"
    body = page.render_message(
        config,
        lang,
        heading=text(lang, "success_title"),
        lines=[text(lang, "success_body", venue=page.venue_name(config))],
        link={"url": target, "label": text(lang, "continue")},
        base_path=login_url(),
    )
    return Response(body, 200, content_type="text/html; charset=utf-8")


def probe() -> BaseResponse:
    status, content_type, body = PROBES[request.path]
    if not _online():
        return _to_portal()
    response = Response(body, status, content_type=content_type)
    if status == 204:
        response.headers.pop("Content-Type", None)
    response.headers["Cache-Control"] = "no-store"
    return response


for _path in PROBES:
    _endpoint = "probe" + _path.replace("/", "_").replace(".", "_")
    bp.add_url_rule(_path, endpoint=_endpoint, view_func=probe)


@bp.get(CAPTIVE_API)
def captive_api() -> BaseResponse:
    """RFC 8908: the URL handed out as DHCP option 114 (RFC 8910)."""
    client = _client(fresh=True)  # polled rarely; must be right at once after login
    online = is_online(client)
    body: dict[str, object] = {"captive": not online, "user-portal-url": login_url()}
    if online and client is not None:
        remaining = client.get("seconds_remaining")
        if isinstance(remaining, int) and remaining >= 0:
            body["seconds-remaining"] = remaining
        body["can-extend-session"] = False
    return Response(json.dumps(body), 200, content_type="application/captive+json")
