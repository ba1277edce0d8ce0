"""Failed sign-ins, counted so that nobody can lock another person out.

Counters live in `rate_limits` (shared by every gunicorn worker and admin
host), in fixed windows of ``LOGIN_LIMIT_WINDOW_SECONDS``:

- per client address (``login-ip:``): past ``LOGIN_LIMIT_PER_IP`` failures
  that address is refused (429) for every account — an attacker's own
  address, never everyone's, since the address is the client's as declared
  by ``PROXY_COUNT`` trusted proxies (admin/app.py). IPv6 counts per /64.
- per account and address (``login-pair:``): past
  ``LOGIN_LIMIT_PER_ACCOUNT_ADDRESS`` failures that address is refused for
  that account.
- per account alone (``login-account:``): never a lock. Past
  ``LOGIN_SLOWDOWN_AFTER`` failures from anywhere, an address that has itself
  failed on the account must wait between tries, 1 s doubling with every
  further failure up to ``LOGIN_SLOWDOWN_MAX_SECONDS``; an address with no
  failure on the account (the manager at the office) is checked at once.

A successful sign-in clears its own (account, address) counters only.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from porchlight.admin.db import utcnow
from porchlight.admin.schema import rate_limits

DEFAULTS = {
    "LOGIN_LIMIT_PER_IP": 20,
    "LOGIN_LIMIT_PER_ACCOUNT_ADDRESS": 8,
    "LOGIN_SLOWDOWN_AFTER": 8,
    "LOGIN_SLOWDOWN_MAX_SECONDS": 60,
    "LOGIN_LIMIT_WINDOW_SECONDS": 900,
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    reason: str = ""  # "address" | "account_address" | "slow_down"


def address_key(address: str | None) -> str:
    """The address as counted: IPv4 as is, IPv6 by its /64 (one host's usual share)."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _keys(email: str, address: str | None) -> dict[str, str]:
    addr = address_key(address)
    return {
        "ip": f"login-ip:{addr}",
        "pair": f"login-pair:{email}|{addr}",
        "pair_last": f"login-last:{email}|{addr}",
        "account": f"login-account:{email}",
    }


def _setting(config: Any, name: str) -> int:
    return int(config.get(name, DEFAULTS[name]))


def _read(conn: Connection, keys: list[str], window: int, now: datetime) -> dict[str, Any]:
    rl = rate_limits
    rows = conn.execute(
        sa.select(rl.c.key, rl.c.window_start, rl.c.count).where(
            rl.c.key.in_([k[:200] for k in keys])
        )
    ).all()
    return {row.key: row for row in rows}


def _count(rows: dict[str, Any], key: str, window: int, now: datetime) -> int:
    row = rows.get(key[:200])
    if row is None or now - row.window_start >= timedelta(seconds=window):
        return 0
    return int(row.count)


def check(conn: Connection, email: str, address: str | None, config: Any) -> Verdict:
    """May this address try this account's password now? Counts nothing."""
    now = utcnow()
    window = _setting(config, "LOGIN_LIMIT_WINDOW_SECONDS")
    keys = _keys(email, address)
    rows = _read(conn, list(keys.values()), window, now)

    def left(key: str) -> int:
        row = rows[key[:200]]
        return max(1, math.ceil(window - (now - row.window_start).total_seconds()))

    if _count(rows, keys["ip"], window, now) >= _setting(config, "LOGIN_LIMIT_PER_IP"):
        return Verdict(False, left(keys["ip"]), "address")
    pair = _count(rows, keys["pair"], window, now)
    if pair >= _setting(config, "LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"):
        return Verdict(False, left(keys["pair"]), "account_address")
    account = _count(rows, keys["account"], window, now)
    after = _setting(config, "LOGIN_SLOWDOWN_AFTER")
    if pair and account >= after:
        delay = min(_setting(config, "LOGIN_SLOWDOWN_MAX_SECONDS"), 2 ** min(account - after, 16))
        last = rows.get(keys["pair_last"][:200])
        since = (now - last.window_start).total_seconds() if last is not None else delay
        if since < delay:
            return Verdict(False, max(1, math.ceil(delay - since)), "slow_down")
    return Verdict(True)


def _hit(conn: Connection, key: str, window: int, now: datetime, *, restart: bool) -> None:
    """One more on `key` (a new window when the old one is over, or always if `restart`)."""
    rl = rate_limits
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    ins = insert(rl).values(key=key[:200], window_start=now, count=1)
    over = sa.true() if restart else rl.c.window_start <= now - timedelta(seconds=window)
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": sa.case((over, 1), else_=rl.c.count + 1),
                "window_start": sa.case((over, ins.excluded.window_start), else_=rl.c.window_start),
            },
        )
    )


def failed(conn: Connection, email: str, address: str | None, config: Any) -> None:
    """Count one failed sign-in (its own short transaction)."""
    now = utcnow()
    window = _setting(config, "LOGIN_LIMIT_WINDOW_SECONDS")
    keys = _keys(email, address)
    for name in ("ip", "pair", "account"):
        _hit(conn, keys[name], window, now, restart=False)
    _hit(conn, keys["pair_last"], window, now, restart=True)


def succeeded(conn: Connection, email: str, address: str | None) -> None:
    """A correct password: this address's counters for this account start again."""
    keys = _keys(email, address)
    conn.execute(
        rate_limits.delete().where(rate_limits.c.key.in_([keys["pair"], keys["pair_last"]]))
    )


def forget_account(conn: Connection, email: str) -> None:
    """Every counter of `email` (a password reset by an operator)."""
    rl = rate_limits
    conn.execute(
        rl.delete().where(
            sa.or_(
                rl.c.key == f"login-account:{email}"[:200],
                rl.c.key.startswith(f"login-pair:{email}|", autoescape=True),
                rl.c.key.startswith(f"login-last:{email}|", autoescape=True),
            )
        )
    )
