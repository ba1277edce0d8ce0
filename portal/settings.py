"""Portal settings: defaults, then `PORCHLIGHT_PORTAL_*` environment, then `config`."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from porchlight.errors import PorchlightError

ENV_PREFIX = "PORCHLIGHT_PORTAL_"

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,  # required; `portal serve` makes one per start if unset
    "AGENT_SOCKET": "/run/porchlight/agent.sock",
    "AGENT_TIMEOUT": 2.0,
    "PORTAL_URL": None,  # e.g. http://10.99.0.1:8080/ ; default: the address reached
    "PORTAL_HOSTS": [],  # more Host names that are the portal itself
    "PORTAL_STATE_DIR": None,  # rate-limit file lives here; None = in-process
    "RATE_LIMIT_PER_MAC": "10/60",  # login attempts / seconds
    "RATE_LIMIT_PER_IP": "20/60",
    "CONFIG_CACHE_SECONDS": 10.0,
    "CLIENT_CACHE_SECONDS": 2.0,  # detection probes only; login views always ask afresh
    "FORM_MAX_AGE": 3600,
    "OAUTH_PROVIDERS": {},  # name -> {client_id, client_secret, [authorize_url...]}
    "OAUTH_TIMEOUT": 5.0,  # seconds for each call to a social login provider
    "LOGO_MAX_BYTES": 200_000,
}

# Environment names: PORCHLIGHT_PORTAL_<KEY>, plus these shorter ones.
ENV_ALIASES = {"PORCHLIGHT_PORTAL_URL": "PORTAL_URL"}


def _coerce(key: str, raw: str) -> Any:
    default = DEFAULTS[key]
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, int) and not isinstance(default, bool):
        return int(raw)
    if isinstance(default, list):
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def load_settings(
    config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key in DEFAULTS:
        for name in (ENV_PREFIX + key, *[a for a, k in ENV_ALIASES.items() if k == key]):
            if name in environ and key != "OAUTH_PROVIDERS":
                try:
                    settings[key] = _coerce(key, environ[name])
                except ValueError as exc:
                    raise PorchlightError(f"{name}: bad value {environ[name]!r}") from exc
    oauth_file = environ.get(ENV_PREFIX + "OAUTH_FILE")
    if oauth_file:
        settings["OAUTH_PROVIDERS"] = load_oauth_file(oauth_file)
    settings.update(config or {})
    for key in ("RATE_LIMIT_PER_MAC", "RATE_LIMIT_PER_IP"):
        parse_rate(settings[key], key)
    if not settings.get("SECRET_KEY"):
        raise PorchlightError(
            "the portal needs a secret key",
            hint="set PORCHLIGHT_PORTAL_SECRET_KEY or start it with 'porchlight portal serve'",
        )
    return settings


def parse_rate(value: object, name: str = "rate") -> tuple[int, int]:
    """``"10/60"`` -> (10 attempts, 60 seconds)."""
    try:
        count, _, seconds = str(value).partition("/")
        parsed = int(count), int(seconds)
    except ValueError as exc:
        raise PorchlightError(f"{name}: expected COUNT/SECONDS, got {value!r}") from exc
    if parsed[0] < 1 or parsed[1] < 1:
        raise PorchlightError(f"{name}: expected COUNT/SECONDS, got {value!r}")
    return parsed


def load_oauth_file(path: str) -> dict[str, Any]:
    """Social login credentials: ``{"google": {"client_id": .., "client_secret": ..}, ..}``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PorchlightError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise PorchlightError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise PorchlightError(f"{path}: expected an object of provider objects")
    return data
