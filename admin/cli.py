"""`porchlight admin ...` subcommands.

Each module in COMMAND_MODULES exposes `register(subparsers)` adding its own
subcommands (with `set_defaults(func=handler)`); areas add their own line.
This module itself adds `migrate` and `serve`, and offers `engine_from_env()`
to every command.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from sqlalchemy.engine import Engine

from porchlight.errors import UsageError

COMMAND_MODULES: list[str] = [
    "porchlight.admin.users",
    "porchlight.admin.seed",
    "porchlight.admin.locations.router_cli",
    "porchlight.admin.backup",
    "porchlight.admin.io.cli",
    "porchlight.admin.io.worker",
]


def engine_from_env() -> Engine:
    """The engine for ``PORCHLIGHT_ADMIN_DATABASE_URL`` (no secret key needed)."""
    from porchlight.admin.config import AdminConfig
    from porchlight.admin.db import make_engine

    return make_engine(AdminConfig.from_env(require_secret=False).DATABASE_URL)


def _cmd_migrate(args: argparse.Namespace) -> int:
    from porchlight.admin.migrate import upgrade

    upgrade(engine_from_env(), args.revision)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from porchlight.admin.config import AdminConfig

    AdminConfig.from_env()  # refuse early (one line) without a secret key
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    argv = [sys.executable, "-m", "gunicorn", "--workers", str(args.workers)]
    for bind in args.bind or ["127.0.0.1:8000"]:
        argv += ["--bind", bind]
    argv += ["--timeout", "60", "--access-logfile", "-", "porchlight.admin.app:create_app()"]
    os.execv(sys.executable, argv)  # noqa: S606  gunicorn takes over this process (signals, pid)
    return 0  # pragma: no cover


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("migrate", help="bring the admin database to the newest schema")
    p.add_argument("--revision", default="head", help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_migrate)
    p = sub.add_parser("serve", help="run the admin web app under gunicorn")
    p.add_argument("--bind", action="append", help="HOST:PORT or unix:PATH (repeatable)")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=_cmd_serve)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
