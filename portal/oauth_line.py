"""LINE Login (OAuth 2.0 / OpenID Connect v2.1) and the venue's LINE Official Account.

The flow is the other social logins' (portal/oauth.py: state, PKCE, the
consents kept in the signed session) with what LINE adds:

- the authorize URL carries a ``nonce`` (echoed in the ID token) and, when the
  location names its LINE Official Account (``portal.chat.line_oa``),
  ``bot_prompt`` (``aggressive`` by default: after the consent screen LINE
  shows a separate "add friend" screen the guest must press; ``normal`` puts
  the option on the consent screen). Which OA is offered is the one linked to
  the venue's LINE Login channel in the LINE Developers Console;
- the token answer's ``id_token`` is checked by LINE's verify endpoint
  (``client_id`` and ``nonce`` must match), which gives ``sub`` (the LINE user
  id, ``U`` + 32 hex digits), ``name`` and ``email`` (only if the channel has
  the e-mail permission);
- when an OA is named, ``GET /friendship/v1/status`` says whether the guest is
  now its friend; that answer becomes a ``line_follow`` consent
  (``text_version`` ``line-oa:@id``). A friendship call that fails leaves
  the follow status unknown (nothing recorded): following is never a
  condition for the Wi-Fi.

A slow, failing or strange answer raises `OAuthError` (portal/oauth.py turns
it into the guest's "social login did not finish" with the other channels).
"""

from __future__ import annotations

import logging
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from porchlight.chat_accounts import LINE_USER_ID, chat_settings

log = logging.getLogger(__name__)

LINE_DEFAULTS: dict[str, str] = {
    "authorize_url": "https://access.line.me/oauth2/v2.1/authorize",
    "token_url": "https://api.line.me/oauth2/v2.1/token",
    "userinfo_url": "https://api.line.me/oauth2/v2.1/verify",  # the ID token check
    "friendship_url": "https://api.line.me/friendship/v1/status",
    # "openid profile email" once LINE approved the channel's e-mail permission
    # (the venue sets "scope" in the portal's OAuth file).
    "scope": "openid profile",
    "style": "line",
}
FetchJson = Callable[[urllib.request.Request], dict[str, Any]]


class LineError(Exception):
    """LINE answered something the login cannot use (turned into OAuthError)."""


def authorize_params(config: Mapping[str, Any], nonce: str) -> dict[str, str]:
    """What LINE's authorize URL gets beyond the standard OAuth parameters."""
    params = {"nonce": nonce}
    chat = chat_settings(config)
    if "line_oa" in chat:
        params["bot_prompt"] = chat["line_bot_prompt"]
    return params


def _verify_id_token(
    found: Mapping[str, str], id_token: str, nonce: str, fetch: FetchJson
) -> dict[str, Any]:
    body = urllib.parse.urlencode(
        {"id_token": id_token, "client_id": found["client_id"], "nonce": nonce}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (fetch checks the scheme)
        found["userinfo_url"],
        data=body,
        headers={"Accept": "application/json", "User-Agent": "porchlight-portal"},
        method="POST",
    )
    claims = fetch(request)
    if claims.get("error"):
        raise LineError(f"ID token refused: {str(claims.get('error'))[:60]}")
    audience = claims.get("aud")
    if audience != found["client_id"] and not (
        isinstance(audience, list) and found["client_id"] in audience
    ):
        raise LineError("ID token is for another channel")
    if claims.get("nonce") != nonce:
        raise LineError("ID token nonce does not match")
    return claims


def identity(
    found: Mapping[str, str], token_answer: Mapping[str, Any], nonce: str, fetch: FetchJson
) -> dict[str, Any]:
    """``{id, name, email}`` from the token answer's ID token, checked by LINE."""
    id_token = token_answer.get("id_token")
    if not isinstance(id_token, str) or not id_token or len(id_token) > 8192:
        raise LineError("no ID token (is 'openid' in the channel's scopes?)")
    claims = _verify_id_token(found, id_token, nonce, fetch)
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not LINE_USER_ID.match(user_id):
        raise LineError("ID token has no LINE user id")
    name = claims.get("name")
    email = claims.get("email")
    return {
        "id": user_id,
        "name": name if isinstance(name, str) else None,
        "email": email if isinstance(email, str) else None,
    }


def friendship(found: Mapping[str, str], access_token: str, fetch: FetchJson) -> bool | None:
    """Whether the guest is a friend of the OA linked to the channel; None if unknown."""
    request = urllib.request.Request(  # noqa: S310 (fetch checks the scheme)
        found.get("friendship_url") or LINE_DEFAULTS["friendship_url"],
        headers={
            "Accept": "application/json",
            "User-Agent": "porchlight-portal",
            "Authorization": f"Bearer {access_token}",
        },
    )
    try:
        flag = fetch(request).get("friendFlag")
    except Exception as exc:  # noqa: BLE001 (any failure: the follow status stays unknown)
        log.warning("LINE friendship status unknown: %s", exc)
        return None
    if not isinstance(flag, bool):
        log.warning("LINE friendship status unknown: friendFlag is %r", flag)
        return None
    return flag


def follow_consent(line_oa: str | None, followed: bool | None) -> dict[str, Any] | None:
    """The ``line_follow`` answer for the login, or None when nothing is known."""
    if not line_oa or followed is None:
        return None
    return {"purpose": "line_follow", "granted": followed, "text_version": f"line-oa:{line_oa}"}
