"""Welcome back on the portal's side: the browser's proof, and what the page may offer.

After a login the agent returns a random proof; the portal keeps it in this
browser as a signed, HttpOnly cookie (as long as the location remembers
devices). A welcome-back login sends that proof, or else the last 3 digits of
the phone on file that the guest types; the agent checks either against what
it stored for the device's MAC, so a stranger presenting the MAC has neither.
The page offers welcome back only when one of the two can work, and greets
with the given name the agent gives (never more).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response as BaseResponse

COOKIE = "pl_back"
DIGITS_FIELD = "phone_tail"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt="welcome-back")


def cookie_proof() -> str | None:
    """The proof this browser kept from its last login here, if its signature holds."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 300:
        return None
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def keep_proof(response: BaseResponse, proof: Any, config: dict[str, Any]) -> None:
    """Put the agent's proof of this login in the browser (if the location remembers)."""
    seconds = int((config.get("session") or {}).get("remember_seconds") or 0)
    if not isinstance(proof, str) or not proof or seconds <= 0:
        return
    response.set_cookie(
        COOKIE, _serializer().dumps(proof), max_age=seconds, httponly=True, samesite="Lax"
    )


def offer(remembered: Any) -> dict[str, Any] | None:
    """What the page shows a remembered device: the given name, and whether to ask digits.

    None when neither proof can work (no cookie here and no phone on file).
    """
    if not isinstance(remembered, dict):
        return None
    has_cookie = cookie_proof() is not None
    if not has_cookie and not remembered.get("phone_check"):
        return None
    return {"name": remembered.get("name"), "ask_digits": not has_cookie}


def proof_from_request() -> dict[str, str]:
    """The proof a welcome-back post brings: the cookie's, else the typed digits."""
    cookie = cookie_proof()
    if cookie:
        return {"cookie": cookie}
    digits = "".join(ch for ch in (request.form.get(DIGITS_FIELD) or "")[:10] if ch.isdigit())
    return {"phone_tail": digits[-3:]}
