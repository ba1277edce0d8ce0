"""Social logins (Zalo, Facebook, Google, LINE): OAuth 2 authorization code with PKCE.

The guest ticks the consents on the portal page and presses a provider's
button; the portal remembers the consents, a state value and the PKCE
verifier in its signed session cookie, sends the guest to the provider
(reachable through the walled garden), and on the callback swaps the code for
the guest's identity, then authorizes the device like any other login.

Credentials (and, for tests, other endpoints) come from `OAUTH_PROVIDERS`
(``PORCHLIGHT_PORTAL_OAUTH_FILE``): ``{"google": {"client_id", "client_secret"}}``.
A provider without credentials is not offered even if the location enables it.
LINE's additions (nonce, ``bot_prompt``, the ID token check, the friendship
status) are in portal/oauth_line.py. ``OAUTH_TIMEOUT`` (seconds, default 5)
bounds each call to a provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.parse
import urllib.request
from typing import Any

from flask import Blueprint, current_app, redirect, request, session
from werkzeug.wrappers import Response as BaseResponse

from porchlight.agent_client import AgentError, AgentUnavailable
from porchlight.chat_accounts import chat_settings
from porchlight.guest_page import guest_form
from porchlight.portal import oauth_line
from porchlight.portal.agent_link import is_online
from porchlight.portal.context import client_ip, guest_language, portal_base_url, state
from porchlight.portal.login_pages import complete_login, render_form
from porchlight.portal.providers import provider

log = logging.getLogger(__name__)
bp = Blueprint("oauth", __name__)

MAX_ANSWER = 64 * 1024
PENDING_SECONDS = 600


class OAuthError(Exception):
    pass


def _redirect_uri(name: str) -> str:
    return f"{portal_base_url()}/oauth/{name}/callback"


def start(
    name: str, consents: list[dict[str, Any]], lang: str, config: dict[str, Any] | None = None
) -> BaseResponse:
    found = provider(name)
    assert found is not None
    if config is None:
        config, _ = state().agent.config_or_fallback()
    state_value = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    nonce = secrets.token_urlsafe(16)
    line_oa = chat_settings(config).get("line_oa") if name == "line" else None
    session["oauth"] = {
        "p": name,
        "n": nonce,
        "oa": line_oa,
        "s": state_value,
        "v": verifier,
        "c": consents,
        "l": lang,
        "ip": client_ip(),
        "t": int(time.time()),
    }
    params = {
        "redirect_uri": _redirect_uri(name),
        "state": state_value,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if found["style"] == "zalo":
        params["app_id"] = found["client_id"]
    else:
        params.update(response_type="code", client_id=found["client_id"], scope=found["scope"])
    if found["style"] == "line":
        params.update(oauth_line.authorize_params(config, nonce))
    base = found["authorize_url"]
    separator = "&" if "?" in base else "?"
    return redirect(base + separator + urllib.parse.urlencode(params), code=303)


def _json(req: urllib.request.Request) -> dict[str, Any]:
    if not req.full_url.startswith(("http://", "https://")):
        raise OAuthError("provider URL must be http(s)")
    try:
        timeout = float(current_app.config.get("OAUTH_TIMEOUT") or 5)
        with urllib.request.urlopen(req, timeout=timeout) as answer:  # noqa: S310 (http/https only)
            raw = answer.read(MAX_ANSWER + 1)
    except OSError as exc:
        raise OAuthError(f"{req.full_url}: {exc}") from exc
    if len(raw) > MAX_ANSWER:
        raise OAuthError("provider answer too large")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise OAuthError("provider answer is not JSON") from exc
    if not isinstance(data, dict):
        raise OAuthError("provider answer is not an object")
    return data


def fetch_identity(
    found: dict[str, str],
    code: str,
    redirect_uri: str,
    verifier: str,
    *,
    nonce: str = "",
    line_oa: str | None = None,
) -> dict:
    """Swap the code for a token, then the token for ``{id, name, email}``.

    LINE adds ``followed`` (True/False, None when unknown) when `line_oa` is set.
    """
    headers = {"Accept": "application/json", "User-Agent": "porchlight-portal"}
    form = {"code": code, "grant_type": "authorization_code", "code_verifier": verifier}
    if found["style"] == "zalo":
        form["app_id"] = found["client_id"]
        token_headers = {**headers, "secret_key": found["client_secret"]}
    else:
        form.update(
            client_id=found["client_id"],
            client_secret=found["client_secret"],
            redirect_uri=redirect_uri,
        )
        token_headers = headers
    body = urllib.parse.urlencode(form).encode()
    token_request = urllib.request.Request(  # noqa: S310 (_json checks the scheme)
        found["token_url"], data=body, headers=token_headers, method="POST"
    )
    token_answer = _json(token_request)
    token = token_answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise OAuthError("provider gave no access token")
    if found["style"] == "line":
        try:
            found_identity = oauth_line.identity(found, token_answer, nonce, _json)
        except oauth_line.LineError as exc:
            raise OAuthError(f"LINE: {exc}") from exc
        if line_oa:
            found_identity["followed"] = oauth_line.friendship(found, token, _json)
        return found_identity
    if found["style"] == "zalo":
        info_headers = {**headers, "access_token": token}
    else:
        info_headers = {**headers, "Authorization": f"Bearer {token}"}
    info_request = urllib.request.Request(found["userinfo_url"], headers=info_headers)  # noqa: S310
    info = _json(info_request)
    ident = info.get("sub") or info.get("id")
    if not ident or info.get("error") not in (None, 0):
        raise OAuthError("provider gave no user id")
    return {"id": str(ident), "name": info.get("name"), "email": info.get("email")}


@bp.get("/oauth/<name>/callback")
def callback(name: str) -> BaseResponse:
    pending = session.pop("oauth", None)
    agent = state().agent
    config, _ = agent.config_or_fallback()
    lang = guest_language(config, pending.get("l") if isinstance(pending, dict) else None)

    def fail(status: int, notice: str | None = None, **kw: Any) -> BaseResponse:
        return render_form(config, lang, status=status, notice=notice, **kw)

    found = provider(name)
    if (
        found is None
        or not isinstance(pending, dict)
        or pending.get("p") != name
        or pending.get("ip") != client_ip()
        or time.time() - float(pending.get("t", 0)) > PENDING_SECONDS
        or not hmac.compare_digest(str(pending.get("s")), request.args.get("state", ""))
        or not request.args.get("code")
    ):
        log.info("social login %s from %s refused (state/error)", name, client_ip())
        return fail(400, "err_social_failed")
    try:
        identity = fetch_identity(
            found,
            request.args["code"][:2000],
            _redirect_uri(name),
            str(pending["v"]),
            nonce=str(pending.get("n") or ""),
            line_oa=pending.get("oa") if isinstance(pending.get("oa"), str) else None,
        )
    except OAuthError as exc:
        log.warning("social login %s failed: %s", name, exc)
        return fail(502, "err_social_failed")
    try:
        client = agent.client_for_ip(client_ip(), fresh=True)
    except (AgentUnavailable, AgentError):
        return fail(503, "err_agent_down")
    if client is None:
        return fail(409, "err_mac_not_found")
    if is_online(client):
        return redirect(f"/success?lang={lang}", code=303)
    answers = {
        f"consent_{c.get('purpose')}": "yes" if c.get("granted") else ""
        for c in pending.get("c") or []
        if isinstance(c, dict)
    }
    result = guest_form.validate_login(answers, name, config, social=identity)
    if result.login is None:
        return fail(422, errors=result.errors)
    follow = oauth_line.follow_consent(pending.get("oa"), identity.get("followed"))
    if follow is not None:
        result.login["consents"].append(follow)
    return complete_login(config, lang, client, result.login, on_error=fail)
