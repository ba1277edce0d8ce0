"""`porchlight agent enroll` and `porchlight agent sync`: their command lines only.

The handlers import the sync machinery (sqlite-utils, HTTP) when they run, so
`porchlight agent status` and the other quick commands never load it.
"""

from __future__ import annotations

import argparse
from typing import Any

DEFAULT_STATE_DIR = "/var/lib/porchlight/agent"


def _enroll(args: argparse.Namespace) -> int:
    from porchlight.agent.enroll import cmd_enroll

    return cmd_enroll(args)


def _sync(args: argparse.Namespace) -> int:
    from porchlight.agent.sync import cmd_sync

    return cmd_sync(args)


def register(sub: Any) -> None:
    p = sub.add_parser("enroll", help="enroll this router with the admin (one-time code)")
    p.add_argument("admin_url", metavar="ADMIN_URL", help="e.g. https://admin.example.com")
    p.add_argument("code", metavar="CODE", help="the one-time enrollment code")
    p.add_argument("--state-dir", default=DEFAULT_STATE_DIR, help="agent state directory")
    p.add_argument("--insecure", action="store_true", help="allow plain http to a remote admin")
    p.add_argument("--ca-file", help="CA bundle to check the admin's certificate")
    p.add_argument("--force", action="store_true", help="replace an existing device token")
    p.set_defaults(func=_enroll)

    p = sub.add_parser("sync", help="send the outbox to the admin now (--loop: keep sending)")
    p.add_argument("--state-dir", default=DEFAULT_STATE_DIR, help="agent state directory")
    p.add_argument("--loop", action="store_true", help="keep running (events only)")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between rounds")
    p.add_argument(
        "--retry-parked",
        action="store_true",
        help="first put the events the admin refused back in the outbox (after fixing the admin)",
    )
    p.add_argument("--batch", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=_sync)
