"""Who may still be signed in: role changes, removing users, ending their sessions.

``porchlight admin set-role | remove-user | sign-out-user``. Each ends the
user's server-side sessions (admin/sessions.py) in the same transaction, so
the change holds on the very next request of every browser they used.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from porchlight.admin import schema, sessions
from porchlight.admin.config import AdminConfig
from porchlight.admin.db import make_engine
from porchlight.admin.users import location_id_for
from porchlight.errors import PorchlightError, UsageError


def _user_id(conn: Connection, email: str) -> int:
    users = schema.users
    row = conn.execute(sa.select(users.c.id).where(users.c.email == email.strip().lower())).first()
    if row is None:
        raise PorchlightError(f"no user {email!r}")
    return int(row.id)


def _engine() -> Engine:
    return make_engine(AdminConfig.from_env(require_secret=False).DATABASE_URL)


def set_role(conn: Connection, email: str, role: str, location_ids: list[int] | None = None) -> int:
    """Change a user's role (and a manager's locations); their sessions end. Returns the id."""
    if role not in schema.ROLES:
        raise UsageError(f"role must be one of {', '.join(schema.ROLES)}")
    if role == "manager" and not location_ids:
        raise UsageError("a manager needs at least one --location")
    user_id = _user_id(conn, email)
    users, ul = schema.users, schema.user_locations
    conn.execute(users.update().where(users.c.id == user_id).values(role=role))
    conn.execute(ul.delete().where(ul.c.user_id == user_id))
    for location_id in (location_ids or []) if role == "manager" else []:
        conn.execute(ul.insert().values(user_id=user_id, location_id=location_id))
    sessions.end_all(conn, user_id)
    return user_id


def remove_user(conn: Connection, email: str) -> int:
    """Delete a user; their sessions and selections go with them (their audit rows stay)."""
    user_id = _user_id(conn, email)
    sessions.end_all(conn, user_id)
    conn.execute(schema.users.delete().where(schema.users.c.id == user_id))
    return user_id


def sign_out_user(conn: Connection, email: str) -> int:
    """End every session of a user (a lost laptop); returns how many ended."""
    return sessions.end_all(conn, _user_id(conn, email))


def _cmd_set_role(args: argparse.Namespace) -> int:
    with _engine().begin() as conn:
        users = schema.users
        row = conn.execute(
            sa.select(users.c.tenant_id).where(users.c.email == args.email.strip().lower())
        ).first()
        if row is None:
            raise PorchlightError(f"no user {args.email!r}")
        location_ids = [location_id_for(conn, int(row.tenant_id), n) for n in args.location or []]
        user_id = set_role(conn, args.email, args.role, location_ids)
    out = {"user_id": user_id, "role": args.role}
    print(json.dumps(out) if args.json else f"{args.email}: {args.role}; their sessions ended")
    return 0


def _cmd_remove_user(args: argparse.Namespace) -> int:
    with _engine().begin() as conn:
        user_id = remove_user(conn, args.email)
    print(json.dumps({"user_id": user_id}) if args.json else f"{args.email} removed")
    return 0


def _cmd_sign_out_user(args: argparse.Namespace) -> int:
    with _engine().begin() as conn:
        ended = sign_out_user(conn, args.email)
    print(json.dumps({"sessions_ended": ended}) if args.json else f"{ended} sessions ended")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("set-role", help="change a user's role, ending their sessions")
    p.add_argument("email")
    p.add_argument("role", choices=schema.ROLES)
    p.add_argument("--location", action="append", help="location name (managers; repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_set_role)

    p = sub.add_parser("remove-user", help="delete an admin user, ending their sessions")
    p.add_argument("email")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_remove_user)

    p = sub.add_parser("sign-out-user", help="end every session of a user (a lost device)")
    p.add_argument("email")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_sign_out_user)
