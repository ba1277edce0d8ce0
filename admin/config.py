"""Admin configuration: a class with environment overrides. No default secret."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from porchlight.errors import PorchlightError

ENV_PREFIX = "PORCHLIGHT_ADMIN_"


@dataclass
class AdminConfig:
    SECRET_KEY: str = ""
    DATABASE_URL: str = "sqlite:///porchlight-admin.db"
    DATA_DIR: str = "porchlight-admin-data"  # uploads, exports
    PUBLIC_URL: str = "http://127.0.0.1:8000"  # shown in install commands
    SESSION_COOKIE_SECURE: bool = False
    SESSION_COOKIE_SAMESITE: str = "Lax"  # Flask's own default (None) already holds the key
    # Proxies in front of the admin whose X-Forwarded-For/-Proto/-Host are
    # trusted (werkzeug's ProxyFix); 0: none, the peer address is the client.
    PROXY_COUNT: int = 0
    MAX_CONTENT_LENGTH: int = 50 * 1024 * 1024
    ROUTER_STALE_SECONDS: int = 180
    # Failed sign-ins per window (admin/signin_limits.py): an address past its
    # limit is refused, so is an (account, address) pair; the account alone
    # only slows down the addresses that fail on it.
    LOGIN_LIMIT_PER_IP: int = 20
    LOGIN_LIMIT_PER_ACCOUNT_ADDRESS: int = 8
    LOGIN_SLOWDOWN_AFTER: int = 8
    LOGIN_SLOWDOWN_MAX_SECONDS: int = 60
    LOGIN_LIMIT_WINDOW_SECONDS: int = 900
    PAGE_SIZE: int = 50
    # Bearer token that opens /metrics to a Prometheus that is not on loopback ("" = none)
    METRICS_TOKEN: str = ""
    JOB_LEASE_SECONDS: int = 30  # a worker's lease on its job, renewed every third (leases.py)
    TESTING: bool = False
    EXTRA: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(
        cls, overrides: Mapping[str, Any] | None = None, *, require_secret: bool = True
    ) -> AdminConfig:
        """Defaults, then ``PORCHLIGHT_ADMIN_*`` variables, then `overrides`.

        `require_secret=False` is for commands that never sign cookies
        (``migrate``, ``create-user``...).
        """
        config = cls()
        for f in fields(cls):
            if f.name == "EXTRA":
                continue
            raw = os.environ.get(ENV_PREFIX + f.name)
            if raw is None:
                continue
            current = getattr(config, f.name)
            if isinstance(current, bool):
                setattr(config, f.name, raw.lower() in ("1", "true", "yes", "on"))
            elif isinstance(current, int):
                setattr(config, f.name, int(raw))
            else:
                setattr(config, f.name, raw)
        for key, value in (overrides or {}).items():
            if hasattr(config, key) and key != "EXTRA":
                setattr(config, key, value)
            else:
                config.EXTRA[key] = value
        if not 0 <= config.PROXY_COUNT <= 10:
            raise PorchlightError(
                f"{ENV_PREFIX}PROXY_COUNT: expected the number of proxies in front "
                "of the admin (0 to 10)"
            )
        if config.SESSION_COOKIE_SAMESITE not in ("Lax", "Strict"):
            raise PorchlightError(f"{ENV_PREFIX}SESSION_COOKIE_SAMESITE: Lax or Strict")
        if require_secret and len(config.SECRET_KEY) < 16:
            raise PorchlightError(
                "the admin needs a secret key of at least 16 characters",
                hint=f"set {ENV_PREFIX}SECRET_KEY, e.g. to the output of "
                "'python3 -c \"import secrets; print(secrets.token_urlsafe(32))\"'",
            )
        return config

    def as_flask(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "EXTRA"}
        values.update(self.EXTRA)
        return values
