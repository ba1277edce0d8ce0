"""Session and client records in the store; every guest event goes to the outbox
in the same transaction as the state change it describes.

Times are stored as ISO-8601 UTC strings; `now` is passed in (epoch seconds)
so tests and the clock-jump handling stay explicit. ``bytes_out`` is what the
guest sent (upload), ``bytes_in`` what it received (download).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

from porchlight.agent import guest_data
from porchlight.agent.store import enqueue_event, enqueue_events
from porchlight.agent.welcome_back import MAX_FAILURES
from porchlight.events import is_randomized_mac, new_event_id


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def remaining(session: dict[str, Any], now: float) -> int:
    """Seconds left, clamped to [0, session length] so a clock jump back cannot inflate it."""
    started, expires = epoch(session["started_at"]), epoch(session["expires_at"])
    return int(max(0.0, min(expires - now, expires - started)))


def touch_client(
    db: Database,
    mac: str,
    now: float,
    *,
    ip: str | None = None,
    ip6: str | None = None,
    hostname: str | None = None,
    vendor_class: str | None = None,
) -> None:
    stamp = iso(now)
    db.execute(
        """INSERT INTO clients (mac, ip, ip6, hostname, vendor_class, randomized,
                                first_seen, last_seen)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (mac) DO UPDATE SET
             ip = coalesce(excluded.ip, ip), ip6 = coalesce(excluded.ip6, ip6),
             hostname = coalesce(excluded.hostname, hostname),
             vendor_class = coalesce(excluded.vendor_class, vendor_class),
             last_seen = excluded.last_seen""",
        [mac, ip, ip6, hostname, vendor_class, int(is_randomized_mac(mac)), stamp, stamp],
    )


def get_client(db: Database, mac: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM clients WHERE mac = ?", [mac]))
    return rows[0] if rows else None


def client_by_ip(db: Database, ip: str) -> dict[str, Any] | None:
    rows = list(
        db.query(
            "SELECT * FROM clients WHERE ip = ? OR ip6 = ? ORDER BY last_seen DESC LIMIT 1",
            [ip, ip],
        )
    )
    return rows[0] if rows else None


def open_session(db: Database, mac: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM sessions WHERE mac = ? AND ended_at IS NULL", [mac]))
    return rows[0] if rows else None


def open_sessions(db: Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY started_at"))


def mac_list(db: Database, mac: str) -> str | None:
    row = db.execute("SELECT list FROM mac_lists WHERE mac = ?", [mac]).fetchone()
    return None if row is None else str(row[0])


def macs_in(db: Database, name: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT mac FROM mac_lists WHERE list = ?", [name])]


def remembered(db: Database, mac: str, now: float, window: int) -> dict[str, Any] | None:
    """The welcome-back offer for `mac`, or None (none, too old, or too many wrong tries)."""
    rows = list(db.query("SELECT * FROM remembered WHERE mac = ?", [mac]))
    if not rows or window <= 0:
        return None
    row = rows[0]
    if now - epoch(row["login_at"]) > window or row["failures"] >= MAX_FAILURES:
        return None
    return {"name": row["name"], "channel": row["channel"], "phone_check": bool(row["phone_tail"])}


def voucher_counts(db: Database, code: str, mac: str) -> tuple[int, int, bool]:
    """(uses, distinct devices, this device used it already)."""
    uses, devices = db.execute(
        "SELECT count(*), count(DISTINCT mac) FROM voucher_uses WHERE code = ?", [code]
    ).fetchone()
    mine = db.execute(
        "SELECT 1 FROM voucher_uses WHERE code = ? AND mac = ? LIMIT 1", [code, mac]
    ).fetchone()
    return int(uses), int(devices), mine is not None


def start_session(
    db: Database,
    *,
    mac: str,
    ip: str | None,
    now: float,
    length: int,
    channel: str,
    login: dict[str, Any] | None,
    remember: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    """Record a session (and the login, if any) with their outbox events, in one transaction.

    `remember` is what the welcome-back offer keeps (given name, phone tail, proof hash).
    """
    session_id = str(uuid.uuid4())
    started, expires = iso(now), iso(now + length)
    with db.atomic():
        if login is not None:
            _record_login(db, mac, ip, channel, login, remember, session_id, started)
        enqueue_event(
            db,
            {
                "id": new_event_id(),
                "type": "session_start",
                "occurred_at": started,
                "mac": mac,
                "data": {"session_id": session_id, "expires_at": expires},
            },
        )
        db.execute(
            """INSERT INTO sessions (id, mac, ip, channel, name, voucher, started_at, expires_at,
                                     last_activity_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                session_id,
                mac,
                ip,
                channel,
                (login or {}).get("name"),
                (login or {}).get("voucher"),
                started,
                expires,
                started,
            ],
        )
    return {
        "id": session_id,
        "started_at": started,
        "expires_at": expires,
        "seconds_remaining": length,
    }


def _record_login(
    db: Database,
    mac: str,
    ip: str | None,
    channel: str,
    login: dict[str, Any],
    remember: dict[str, str | None] | None,
    session_id: str,
    started: str,
) -> None:
    """The login's outbox event, welcome-back record and voucher use (caller's transaction)."""
    client = get_client(db, mac) or {}
    device = dict(login.get("device") or {})
    device.setdefault("ip", ip)
    device.setdefault("hostname", client.get("hostname"))
    device.setdefault("vendor_class", client.get("vendor_class"))
    device.setdefault("randomized", is_randomized_mac(mac))
    data = {**login, "session_id": session_id, "channel": channel, "device": device}
    enqueue_event(
        db,
        {
            "id": new_event_id(),
            "type": "login",
            "occurred_at": started,
            "mac": mac,
            "data": data,
        },
    )
    keep = remember or {}
    db.execute(
        "INSERT INTO remembered (mac, name, channel, login_at, phone_tail, proof) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (mac) DO UPDATE SET name = coalesce(excluded.name, name), "
        "channel = excluded.channel, login_at = excluded.login_at, "
        "phone_tail = coalesce(excluded.phone_tail, phone_tail), "
        "proof = excluded.proof, failures = 0",
        [mac, keep.get("name"), channel, started] + [keep.get("phone_tail"), keep.get("proof")],
    )
    guest_data.record_login(db, mac, session_id, login, started)  # "My data" on the portal
    if channel == "voucher" and login.get("voucher"):
        db.execute(
            "INSERT INTO voucher_uses (code, mac, session_id, used_at) VALUES (?, ?, ?, ?)",
            [login["voucher"], mac, session_id, started],
        )


def end_session(db: Database, session: dict[str, Any], now: float, reason: str) -> bool:
    """Close `session` with its `session_end` event; False if it was already closed."""
    return bool(end_sessions(db, [(session, reason, 0, 0)], now))


# one ending: the session (id, mac, started_at; for an expired one, `expired_at`, the
# epoch second its time ran out), its reason, and the bytes the kernel counted since
# they were last written (upload, download), folded in as it closes
Ending = tuple[dict[str, Any], str, int, int]


def end_sessions(db: Database, endings: list[Ending], now: float) -> list[str]:
    """Close each still-open session with its final byte counts and its `session_end`
    event, all in one transaction (the caller keeps batches short: a login waits for
    it); return the ids closed (one already closed gets no second event)."""
    ended: list[str] = []
    events: list[dict[str, Any]] = []
    with db.atomic():
        for session, reason, d_out, d_in in endings:
            # the kernel cut an expired guest off when its time ran out, not when a round
            # (spaced by 10x its length: ~20 s at 10,000 guests) noticed
            started = epoch(session["started_at"])
            at = max(started, min(now, float(session.get("expired_at") or now)))
            stamp = iso(at)
            closed = db.execute(
                "UPDATE sessions SET ended_at = ?, reason = ?, bytes_out = bytes_out + ?, "
                "bytes_in = bytes_in + ? WHERE id = ? AND ended_at IS NULL "
                "RETURNING bytes_in, bytes_out",
                [stamp, reason, d_out, d_in, session["id"]],
            ).fetchall()
            if not closed:
                continue
            row = closed[0]
            events.append(
                {
                    "id": new_event_id(),
                    "type": "session_end",
                    "occurred_at": stamp,
                    "mac": session["mac"],
                    "data": {
                        "session_id": session["id"],
                        "started_at": session["started_at"],
                        "ended_at": stamp,
                        "dwell_seconds": int(max(0.0, at - started)),
                        "bytes_in": int(row[0]),
                        "bytes_out": int(row[1]),
                        "reason": reason,
                    },
                }
            )
            ended.append(session["id"])
        enqueue_events(db, events)
    return ended
