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
    MAX_CONTENT_LENGTH: int = 50 * 1024 * 1024
    ROUTER_STALE_SECONDS: int = 180
    LOGIN_LIMIT_PER_IP: int = 20  # failed sign-ins per window and IP address
    LOGIN_LIMIT_PER_EMAIL: int = 8  # failed sign-ins per window and account
    LOGIN_LIMIT_WINDOW_SECONDS: int = 900
    PAGE_SIZE: int = 50
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
