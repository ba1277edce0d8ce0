"""`porchlight admin router-add|router-list|router-revoke|router-rotate|adoption-key`.

`router-add` creates a router for a location and prints its one-time
enrollment code and the exact command the installer runs on the router.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from porchlight.admin.db import engine_from_env, utcnow
from porchlight.admin.schema import tenants
from porchlight.admin.sync.enrollment import (
    CODE_TTL,
    create_router,
    find_location,
    list_routers,
    revoke,
    rotate,
    router_status,
)
from porchlight.errors import PorchlightError, UsageError

DEFAULT_STATE_DIR = "/var/lib/porchlight/agent"


def _public_url() -> str:
    from porchlight.admin.config import AdminConfig

    return AdminConfig.from_env(require_secret=False).PUBLIC_URL.rstrip("/")


def install_command(code: str) -> str:
    return f"porchlight agent enroll {_public_url()} {code} --state-dir {DEFAULT_STATE_DIR}"


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    if args.json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(text + "\n")


def _ttl(args: argparse.Namespace) -> timedelta:
    if not 1 <= args.expires_hours <= 24 * 30:
        raise UsageError("--expires-hours must be between 1 and 720")
    return timedelta(hours=args.expires_hours)


def _cmd_add(args: argparse.Namespace) -> int:
    ttl = _ttl(args)
    with engine_from_env().begin() as conn:
        tenant_id, location_id = find_location(conn, args.tenant, args.location)
        router_id, code = create_router(conn, location_id, args.name, ttl=ttl)
    command = install_command(code)
    _emit(
        args,
        {
            "router_id": router_id,
            "tenant_id": tenant_id,
            "location_id": location_id,
            "code": code,
            "expires_hours": args.expires_hours,
            "install_command": command,
        },
        f"router {router_id} created; enrollment code {code} "
        f"(one use, expires in {args.expires_hours} h)\non the router run:\n  {command}",
    )
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    with engine_from_env().connect() as conn:
        tenant_id = conn.execute(
            sa.select(tenants.c.id).where(tenants.c.slug == args.tenant)
        ).scalar()
        if tenant_id is None:
            raise PorchlightError(f"no tenant with slug {args.tenant!r}")
        rows = list_routers(conn, int(tenant_id))
    stale = int(os.environ.get("PORCHLIGHT_ADMIN_ROUTER_STALE_SECONDS", "180"))
    now = utcnow()
    out = []
    for row in rows:
        status = router_status(argparse.Namespace(**row), now, stale)
        out.append(
            {
                "id": row["id"],
                "name": row["name"],
                "location": row["location_name"],
                "status": status,
                "last_seen_at": row["last_seen_at"].isoformat() if row["last_seen_at"] else None,
                "agent_version": row["agent_version"],
                "outbox_depth": row["outbox_depth"],
            }
        )
    if args.json:
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    else:
        for item in out:
            sys.stdout.write(
                f"{item['id']:>5}  {item['status']:<8} {item['name']}  ({item['location']})  "
                f"last seen {item['last_seen_at'] or '-'}\n"
            )
    return 0


def _cmd_revoke(args: argparse.Namespace) -> int:
    with engine_from_env().begin() as conn:
        revoke(conn, args.router_id)
    _emit(args, {"router_id": args.router_id, "revoked": True}, f"router {args.router_id} revoked")
    return 0


def _cmd_rotate(args: argparse.Namespace) -> int:
    ttl = _ttl(args)
    with engine_from_env().begin() as conn:
        code = rotate(conn, args.router_id, ttl=ttl)
    command = install_command(code)
    _emit(
        args,
        {"router_id": args.router_id, "code": code, "install_command": command},
        f"router {args.router_id}: old token no longer works; new enrollment code {code}\n"
        f"on the router run:\n  {command} --force",
    )
    return 0


def _cmd_adoption_key(args: argparse.Namespace) -> int:
    from porchlight.admin.sync.adoption import new_adoption_key

    with engine_from_env().begin() as conn:
        key = new_adoption_key(conn, args.tenant)
    _emit(
        args,
        {"tenant": args.tenant, "adoption_key": key},
        f"adoption key for {args.tenant} (shown once): {key}\n"
        "save it to a file and build images with: "
        "deploy/build-image --admin-url URL --adoption-key FILE ...",
    )
    return 0


def register(sub: Any) -> None:
    hours = int(CODE_TTL.total_seconds() // 3600)
    p = sub.add_parser("router-add", help="create a router and print its one-time enrollment code")
    p.add_argument("--tenant", required=True, help="tenant slug")
    p.add_argument("--location", required=True, help="location name")
    p.add_argument("--name", required=True, help="router name")
    p.add_argument("--expires-hours", type=int, default=hours, help=f"default {hours}")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_add)
    p = sub.add_parser("router-list", help="list a tenant's routers and their status")
    p.add_argument("--tenant", required=True, help="tenant slug")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("router-revoke", help="stop a router's device token working")
    p.add_argument("router_id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_revoke)
    p = sub.add_parser("router-rotate", help="replace a router's token (prints a new code)")
    p.add_argument("router_id", type=int)
    p.add_argument("--expires-hours", type=int, default=hours, help=f"default {hours}")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_rotate)
    p = sub.add_parser("adoption-key", help="a key for router images (routers announce with it)")
    p.add_argument("--tenant", required=True, help="tenant slug")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_adoption_key)
