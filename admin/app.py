"""The admin web app factory."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from porchlight.admin.config import AdminConfig
from porchlight.admin.db import make_engine

log = logging.getLogger(__name__)

csrf = CSRFProtect()

# Each area is a module exposing `bp` (a Blueprint). Areas add their own line.
BLUEPRINTS: list[str] = []


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the admin app. Refuses to start without a SECRET_KEY."""
    settings = AdminConfig.from_env(config)
    app = Flask(__name__)
    app.config.from_mapping(settings.as_flask())
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.extensions["porchlight.engine"] = make_engine(settings.DATABASE_URL)
    csrf.init_app(app)
    for module_name in BLUEPRINTS:
        module = importlib.import_module(module_name)
        app.register_blueprint(module.bp)
    return app
