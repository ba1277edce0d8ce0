"""Signed, short-lived form tokens: CSRF without a server-side store.

A token is ``{ip, nonce}`` signed with the portal's secret and timestamped. It
is valid for one client IP for `max_age` seconds; the nonce lets the rate
limit store refuse the same form posted twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class TokenError(Exception):
    """`code` is ``expired`` or ``invalid``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class FormToken:
    ip: str
    nonce: str


class FormTokens:
    def __init__(self, secret: str, max_age: int = 3600, salt: str = "portal-form") -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=salt)
        self.max_age = max_age

    def issue(self, ip: str) -> str:
        return self._serializer.dumps({"ip": ip, "n": secrets.token_urlsafe(12)})

    def check(self, token: str | None, ip: str) -> FormToken:
        if not token or len(token) > 500:
            raise TokenError("invalid")
        try:
            data = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired as exc:
            raise TokenError("expired") from exc
        except BadSignature as exc:
            raise TokenError("invalid") from exc
        if not isinstance(data, dict) or data.get("ip") != ip or not data.get("n"):
            raise TokenError("invalid")
        return FormToken(ip=ip, nonce=str(data["n"]))
