"""Events the admin refused for good, parked out of the outbox and reported.

An event the admin answers ``422`` (it fails the admin's validation: an
older or newer agent's schema, a corrupt row) or ``409`` (its id belongs to
another router: a cloned SD card) would block the outbox forever if it stayed
at its head. The sync worker moves it to ``parked_events`` with the admin's
answer, and the count and the newest reason are reported:
`porchlight agent status` (text and ``--json``), and every heartbeat
(``rejected_events``, ``rejected_reason``) so the admin's Routers page warns.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `agent status` reads the summary without loading sqlite-utils
    from sqlite_utils import Database

from porchlight.events import utc_now_iso

log = logging.getLogger(__name__)

MAX_REASON = 200  # routers.rejected_reason on the admin


def park(db: Database, event_id: str, status: int, error: str, message: str) -> None:
    """Move one outbox event to `parked_events` (one transaction)."""
    reason = f"{status} {error}: {message}"[:MAX_REASON]
    log.error("admin refuses event %s for good (%s); parked", event_id, reason)
    with db.atomic():
        row = db.execute("SELECT body FROM outbox WHERE event_id = ?", [event_id]).fetchone()
        db.execute(
            "INSERT INTO parked_events (event_id, body, status, error, reason, parked_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET "
            "status = excluded.status, error = excluded.error, reason = excluded.reason, "
            "parked_at = excluded.parked_at",
            [event_id, row[0] if row else "", status, error, reason, utc_now_iso()],
        )
        db.execute("DELETE FROM outbox WHERE event_id = ?", [event_id])


def unpark(db: Database) -> int:
    """Put every parked event back at the end of the outbox (after the admin was fixed)."""
    with db.atomic():
        moved = db.execute(
            "INSERT INTO outbox (event_id, body, created_at) "
            "SELECT event_id, body, parked_at FROM parked_events WHERE body != '' "
            "ON CONFLICT (event_id) DO NOTHING"
        ).rowcount
        db.execute("DELETE FROM parked_events WHERE body != ''")
    log.info("%d parked events put back in the outbox", moved)
    return int(moved)


def summary(conn: sqlite3.Connection | Database) -> dict[str, Any]:
    """``{"outbox_depth", "rejected_events", "newest_rejected"}`` from an open store."""
    count = conn.execute("SELECT count(*) FROM parked_events").fetchone()[0]
    newest = conn.execute(
        "SELECT event_id, status, error, reason, parked_at FROM parked_events "
        "ORDER BY parked_at DESC, rowid DESC LIMIT 1"
    ).fetchone()
    depth = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
    return {
        "outbox_depth": int(depth),
        "rejected_events": int(count),
        "newest_rejected": None
        if newest is None
        else dict(zip(("event_id", "status", "error", "reason", "parked_at"), newest, strict=True)),
    }


def heartbeat_fields(db: Database) -> dict[str, Any]:
    info = summary(db)
    newest = info["newest_rejected"]
    return {
        "outbox_depth": info["outbox_depth"],
        "rejected_events": info["rejected_events"],
        "rejected_reason": newest["reason"][:MAX_REASON] if newest else None,
    }


def read_summary(store: Path) -> dict[str, Any]:
    """The summary read from the agent's store file without changing it.

    For `porchlight agent status`, which may run while the agent writes: the
    file is opened read-only (no migrations). ``{"error": ...}`` when it cannot
    be read (no such file, not enrolled yet, no permission).
    """
    if not store.exists():
        return {"error": f"no agent store at {store}"}
    try:
        conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return {"error": f"cannot open {store}: {exc}"}
    try:
        return summary(conn)
    except sqlite3.Error as exc:
        return {"error": f"cannot read {store}: {exc}"}
    finally:
        conn.close()
