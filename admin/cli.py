"""`porchlight admin ...` subcommands.

COMMANDS lists each area's `register(subparsers)`, which adds its own
subcommands (with `set_defaults(func=handler)`); areas add their own line.
This module itself adds `migrate` and `serve`; commands open the database with
`porchlight.admin.db.engine_from_env()`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from porchlight.admin import backup, seed, user_access, users
from porchlight.admin.config import AdminConfig
from porchlight.admin.db import engine_from_env
from porchlight.admin.io import cli as io_cli
from porchlight.admin.io import worker
from porchlight.admin.locations import router_cli
from porchlight.errors import UsageError

COMMANDS: list[Callable[[Any], None]] = [
    users.register,
    user_access.register,
    seed.register,
    router_cli.register,
    backup.register,
    io_cli.register,
    worker.register,
]


def _cmd_migrate(args: argparse.Namespace) -> int:
    from porchlight.admin.migrate import upgrade  # alembic loads only for this command

    upgrade(engine_from_env(), args.revision)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
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
    for register_commands in COMMANDS:
        register_commands(sub)
