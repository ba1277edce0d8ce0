"""Tenants, locations and users: the functions and their CLI commands.

``porchlight admin create-tenant | create-location | create-user |
reset-password | demo``. Passwords are generated when not given and printed
once; only their hash is stored.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import secrets
import sys
from typing import Any
from zoneinfo import available_timezones

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from werkzeug.security import generate_password_hash

from porchlight.admin import schema, sessions, signin_limits
from porchlight.admin.customers.groups import ensure_default_groups
from porchlight.admin.db import inserted_id, utcnow
from porchlight.admin.i18n import LOCALES
from porchlight.errors import PorchlightError, UsageError
from porchlight.phones import country_for_zone

log = logging.getLogger(__name__)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_tenant(conn: Connection, slug: str, name: str, country: str = "VN") -> int:
    if not _SLUG.match(slug):
        raise UsageError(f"tenant slug {slug!r}: use lower-case letters, digits and '-'")
    t = schema.tenants
    if conn.execute(sa.select(t.c.id).where(t.c.slug == slug)).first():
        raise PorchlightError(f"tenant {slug!r} already exists")
    tenant_id = inserted_id(
        conn.execute(
            t.insert().values(
                slug=slug, name=name or slug, country=country.upper(), created_at=utcnow()
            )
        )
    )
    ensure_default_groups(conn, tenant_id)
    return int(tenant_id)


def tenant_id_for(conn: Connection, slug: str) -> int:
    row = conn.execute(sa.select(schema.tenants.c.id).where(schema.tenants.c.slug == slug)).first()
    if row is None:
        raise PorchlightError(f"no tenant {slug!r}", hint="create it with create-tenant")
    return int(row.id)


def create_location(
    conn: Connection,
    tenant_id: int,
    name: str,
    *,
    country: str | None = None,
    timezone: str = "Asia/Ho_Chi_Minh",
    province: str | None = None,
    postal_code: str | None = None,
    address: str | None = None,
) -> int:
    name = name.strip()
    if not name:
        raise UsageError("a location needs a name")
    if timezone not in available_timezones():
        raise UsageError(f"unknown timezone {timezone!r} (e.g. Asia/Ho_Chi_Minh, Asia/Bangkok)")
    loc = schema.locations
    exists = conn.execute(
        sa.select(loc.c.id).where(loc.c.tenant_id == tenant_id, loc.c.name == name)
    ).first()
    if exists:
        raise PorchlightError(f"location {name!r} already exists")
    now = utcnow()
    return inserted_id(
        conn.execute(
            loc.insert().values(
                tenant_id=tenant_id,
                name=name,
                country=(country or country_for_zone(timezone)).upper(),
                timezone=timezone,
                province=province,
                postal_code=postal_code,
                address=address,
                created_at=now,
                updated_at=now,
            )
        )
    )


def location_id_for(conn: Connection, tenant_id: int, name: str) -> int:
    loc = schema.locations
    row = conn.execute(
        sa.select(loc.c.id).where(loc.c.tenant_id == tenant_id, loc.c.name == name)
    ).first()
    if row is None:
        raise PorchlightError(f"no location {name!r} in this tenant")
    return int(row.id)


def create_user(
    conn: Connection,
    tenant_id: int,
    email: str,
    password: str,
    role: str = "owner",
    *,
    name: str = "",
    locale: str = "vi",
    location_ids: list[int] | None = None,
) -> int:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise UsageError(f"{email!r} is not an e-mail address")
    if role not in schema.ROLES:
        raise UsageError(f"role must be one of {', '.join(schema.ROLES)}")
    if locale not in LOCALES:
        raise UsageError(f"locale must be one of {', '.join(LOCALES)}")
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    users = schema.users
    if conn.execute(sa.select(users.c.id).where(users.c.email == email)).first():
        raise PorchlightError(f"user {email!r} already exists", hint="use reset-password")
    user_id = inserted_id(
        conn.execute(
            users.insert().values(
                tenant_id=tenant_id,
                email=email,
                name=name,
                password_hash=generate_password_hash(password),
                role=role,
                locale=locale,
                created_at=utcnow(),
            )
        )
    )
    for location_id in location_ids or []:
        conn.execute(
            schema.user_locations.insert().values(user_id=user_id, location_id=location_id)
        )
    return user_id


def reset_password(conn: Connection, email: str, password: str) -> int:
    """Set a new password and end the user's sessions. Returns the user id."""
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    users = schema.users
    row = conn.execute(sa.select(users.c.id).where(users.c.email == email.strip().lower())).first()
    if row is None:
        raise PorchlightError(f"no user {email!r}")
    conn.execute(
        users.update()
        .where(users.c.id == row.id)
        .values(password_hash=generate_password_hash(password))
    )
    sessions.end_all(conn, int(row.id))
    signin_limits.forget_account(conn, email.strip().lower())
    return int(row.id)


DEMO_TENANT = "demo"
DEMO_LOCATION = "Lab Café"
DEMO_EMAIL = "owner@demo.porchlight.test"


def demo(conn: Connection, public_url: str) -> dict[str, Any]:
    """Make (or refresh) the demo tenant, location and owner; return the login."""
    password = generate_password()
    t = schema.tenants
    row = conn.execute(sa.select(t.c.id).where(t.c.slug == DEMO_TENANT)).first()
    created = row is None
    tenant_id = create_tenant(conn, DEMO_TENANT, "Demo") if row is None else int(row.id)
    loc = schema.locations
    loc_row = conn.execute(
        sa.select(loc.c.id).where(loc.c.tenant_id == tenant_id, loc.c.name == DEMO_LOCATION)
    ).first()
    location_id = (
        create_location(
            conn,
            tenant_id,
            DEMO_LOCATION,
            province="Hồ Chí Minh",
            postal_code="700000",
            address="1 Lê Lợi, Quận 1",
        )
        if loc_row is None
        else int(loc_row.id)
    )
    users = schema.users
    if conn.execute(sa.select(users.c.id).where(users.c.email == DEMO_EMAIL)).first():
        reset_password(conn, DEMO_EMAIL, password)
    else:
        create_user(conn, tenant_id, DEMO_EMAIL, password, "owner", name="Demo owner")
    return {
        "url": public_url.rstrip("/") + "/login",
        "email": DEMO_EMAIL,
        "password": password,
        "tenant": DEMO_TENANT,
        "location": DEMO_LOCATION,
        "location_id": location_id,
        "created": created,
    }


# --- CLI ---------------------------------------------------------------------


def _password_from(args: argparse.Namespace) -> tuple[str, bool]:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n"), False
    return generate_password(), True


def _cmd_create_tenant(args: argparse.Namespace) -> int:
    from porchlight.admin.db import engine_from_env

    with engine_from_env().begin() as conn:
        tenant_id = create_tenant(conn, args.slug, args.name or args.slug, args.country)
    print(json.dumps({"tenant_id": tenant_id, "slug": args.slug}) if args.json else tenant_id)
    return 0


def _cmd_create_location(args: argparse.Namespace) -> int:
    from porchlight.admin.db import engine_from_env

    with engine_from_env().begin() as conn:
        tenant_id = tenant_id_for(conn, args.tenant)
        location_id = create_location(
            conn,
            tenant_id,
            args.name,
            country=args.country,
            timezone=args.timezone,
            province=args.province,
            postal_code=args.postal_code,
            address=args.address,
        )
    print(json.dumps({"location_id": location_id}) if args.json else location_id)
    return 0


def _cmd_create_user(args: argparse.Namespace) -> int:
    from porchlight.admin.db import engine_from_env

    password, generated = _password_from(args)
    with engine_from_env().begin() as conn:
        tenant_id = tenant_id_for(conn, args.tenant)
        location_ids = [location_id_for(conn, tenant_id, n) for n in args.location or []]
        if args.role == "manager" and not location_ids:
            raise UsageError("a manager needs at least one --location")
        user_id = create_user(
            conn,
            tenant_id,
            args.email,
            password,
            args.role,
            name=args.name or "",
            locale=args.locale,
            location_ids=location_ids,
        )
    out: dict[str, Any] = {"user_id": user_id, "email": args.email.strip().lower()}
    if generated:
        out["password"] = password
    print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0


def _cmd_reset_password(args: argparse.Namespace) -> int:
    from porchlight.admin.db import engine_from_env

    password, generated = _password_from(args)
    with engine_from_env().begin() as conn:
        reset_password(conn, args.email, password)
    if generated:
        print(json.dumps({"email": args.email, "password": password}) if args.json else password)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from porchlight.admin.config import AdminConfig
    from porchlight.admin.db import engine_from_env
    from porchlight.admin.migrate import upgrade

    engine = engine_from_env()
    upgrade(engine)
    with engine.begin() as conn:
        result = demo(conn, AdminConfig.from_env(require_secret=False).PUBLIC_URL)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        state = "created" if result["created"] else "exists; password reset"
        print(f"demo tenant {state}")
        print(f"  {result['url']}\n  {result['email']}\n  {result['password']}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("create-tenant", help="add a tenant (a brand)")
    p.add_argument("slug", help="short id, e.g. cafe-sg")
    p.add_argument("--name", help="display name")
    p.add_argument("--country", default="VN")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_create_tenant)

    p = sub.add_parser("create-location", help="add a location to a tenant")
    p.add_argument("--tenant", required=True, help="tenant slug")
    p.add_argument("--name", required=True)
    p.add_argument("--country", help="ISO country (default: from the time zone)")
    p.add_argument("--timezone", default="Asia/Ho_Chi_Minh")
    p.add_argument("--province")
    p.add_argument("--postal-code")
    p.add_argument("--address")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_create_location)

    p = sub.add_parser("create-user", help="add an admin user (prints a generated password)")
    p.add_argument("--tenant", required=True, help="tenant slug")
    p.add_argument("--email", required=True)
    p.add_argument("--role", choices=schema.ROLES, default="owner")
    p.add_argument("--name")
    p.add_argument("--locale", choices=LOCALES, default="vi")
    p.add_argument("--location", action="append", help="location name (managers; repeatable)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_create_user)

    p = sub.add_parser("reset-password", help="set a new password, ending the user's sessions")
    p.add_argument("email")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_reset_password)

    p = sub.add_parser("demo", help="demo tenant, 'Lab Café' and an owner login (idempotent)")
    p.add_argument("--json", action="store_true", help="print url, email, password as JSON")
    p.set_defaults(func=_cmd_demo)
