"""Which social logins (Zalo, Facebook, Google, LINE) the portal offers, and where they lead.

A provider is offered when the location enables its channel and the portal has
its credentials (`OAUTH_PROVIDERS`, see portal/oauth.py); the login flow itself
is in portal/oauth.py. The domains each provider's pages need before login (the
walled garden the agent opens) are `porchlight.walled_garden.SOCIAL_DOMAINS`.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from flask import current_app

from porchlight.guest_page import guest_form
from porchlight.portal import oauth_line

PROVIDER_DEFAULTS: dict[str, dict[str, str]] = {
    "google": {
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token",
        "userinfo_url": "https://openidconnect.googleapis.com/v1/userinfo",
        "scope": "openid email profile",
        "style": "standard",
    },
    "facebook": {
        "authorize_url": "https://www.facebook.com/v19.0/dialog/oauth",
        "token_url": "https://graph.facebook.com/v19.0/oauth/access_token",
        "userinfo_url": "https://graph.facebook.com/v19.0/me?fields=id,name,email",
        "scope": "public_profile,email",
        "style": "standard",
    },
    "zalo": {
        "authorize_url": "https://oauth.zaloapp.com/v4/permission",
        "token_url": "https://oauth.zaloapp.com/v4/access_token",
        "userinfo_url": "https://graph.zalo.me/v2.0/me?fields=id,name",
        "scope": "",
        "style": "zalo",  # app_id, secret_key header, access_token header
    },
    "line": oauth_line.LINE_DEFAULTS,
}


def provider(name: str) -> dict[str, str] | None:
    configured = (current_app.config.get("OAUTH_PROVIDERS") or {}).get(name)
    if name not in PROVIDER_DEFAULTS or not isinstance(configured, dict):
        return None
    merged = {**PROVIDER_DEFAULTS[name], **{k: str(v) for k, v in configured.items()}}
    if not merged.get("client_id") or not merged.get("client_secret"):
        return None
    return merged


def available(config: dict[str, Any]) -> list[str]:
    """Social channels the location enables and the portal has credentials for."""
    return [
        c
        for c in guest_form.channels(config)
        if c in guest_form.SOCIAL_CHANNELS and provider(c) is not None
    ]


def provider_origins(providers: dict[str, Any]) -> list[str]:
    """Where a login form may lead (CSP form-action follows redirects)."""
    origins = []
    for name, configured in providers.items():
        if name in PROVIDER_DEFAULTS and isinstance(configured, dict):
            url = configured.get("authorize_url") or PROVIDER_DEFAULTS[name]["authorize_url"]
            parts = urllib.parse.urlsplit(str(url))
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins
