"""`session_end` events of the sync ingest, whatever order they arrive in.

A session's visit is made by its `login`; its `session_end` completes it
(ended_at, dwell, bytes). The agent sends its outbox in order, but an end
can still come first: the admin refuses a batch because of its login, the
agent parks the login and sends the rest — the end among it — and the login
comes back later (`porchlight agent sync --retry-parked` after the admin is
fixed). Such an end is kept in
`pending_session_ends` and applied by `apply_pending_ends` as soon as the
login's visit is written — in the same transaction as that visit, so either
both are stored or neither.

Exactly-once still rests on the `sync_events` ledger: an end is handled
(applied or kept) only the first time its id is seen, and a kept end is
deleted in the transaction that applies it, so replays of either event change
nothing. Kept ends whose session never gets a visit (anonymous
click-through logins, `admit` sessions without a login) are deleted after
`PENDING_END_DAYS`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.db import UTCDateTime
from porchlight.admin.schema import pending_session_ends, visits
from porchlight.admin.sync.enrollment import RouterIdentity
from porchlight.admin.sync.ingest_rows import bind, dialect_insert
from porchlight.events import parse_time

log = logging.getLogger(__name__)

PENDING_END_DAYS = 14  # parked logins are on the Routers page: re-sent within days


def _complete_visits(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Set ended_at/dwell/bytes on the visits of (router, session); rows in apply order."""
    v = visits.c
    conn.execute(
        visits.update()
        .where(v.router_id == bind("b_router"), v.session_id == bind("b_session"))
        .values(
            ended_at=bind("b_ended", UTCDateTime()),
            dwell_seconds=bind("b_dwell"),
            bytes_in=bind("b_in"),
            bytes_out=bind("b_out"),
        ),
        rows,
    )


def apply_ends(
    conn: Connection, router: RouterIdentity, ends: list[dict[str, Any]], now: datetime
) -> int:
    """Complete the visits of fresh `session_end` events; keep the rest. Returns how many kept."""
    rows = [
        {
            "event_id": e["id"],
            "b_router": router.router_id,
            "b_session": e["data"]["session_id"],
            "b_ended": parse_time(e["data"]["ended_at"]),
            "b_dwell": e["data"]["dwell_seconds"],
            "b_in": e["data"]["bytes_in"],
            "b_out": e["data"]["bytes_out"],
        }
        for e in ends
    ]
    v = visits.c
    sessions = sorted({row["b_session"] for row in rows})
    known = set(
        conn.execute(
            sa.select(v.session_id).where(
                v.router_id == router.router_id, v.session_id.in_(sessions)
            )
        ).scalars()
    )
    ready = [row for row in rows if row["b_session"] in known]
    early = [row for row in rows if row["b_session"] not in known]
    if ready:
        _complete_visits(conn, sorted(ready, key=lambda r: r["b_ended"]))
    if early:
        conn.execute(
            dialect_insert(conn, pending_session_ends).on_conflict_do_nothing(),
            [
                {
                    "event_id": row["event_id"],
                    "router_id": router.router_id,
                    "session_id": row["b_session"],
                    "ended_at": row["b_ended"],
                    "dwell_seconds": row["b_dwell"],
                    "bytes_in": row["b_in"],
                    "bytes_out": row["b_out"],
                    "received_at": now,
                }
                for row in early
            ],
        )
        log.debug(
            "router %s: %d session_end events without a visit yet; kept for their login",
            router.router_id,
            len(early),
        )
        _prune(conn, now)
    return len(early)


def apply_pending_ends(conn: Connection, router: RouterIdentity, session_ids: set[str]) -> int:
    """Apply the kept ends of these (just written) visits' sessions; return how many."""
    if not session_ids:
        return 0
    p = pending_session_ends.c
    found = conn.execute(
        sa.select(p.event_id, p.session_id, p.ended_at, p.dwell_seconds, p.bytes_in, p.bytes_out)
        .where(p.router_id == router.router_id, p.session_id.in_(sorted(session_ids)))
        .order_by(p.ended_at, p.event_id)
    ).all()
    if not found:
        return 0
    _complete_visits(
        conn,
        [
            {
                "b_router": router.router_id,
                "b_session": row.session_id,
                "b_ended": row.ended_at,
                "b_dwell": row.dwell_seconds,
                "b_in": row.bytes_in,
                "b_out": row.bytes_out,
            }
            for row in found
        ],
    )
    conn.execute(
        pending_session_ends.delete().where(p.event_id.in_([row.event_id for row in found]))
    )
    return len(found)


def _prune(conn: Connection, now: datetime) -> None:
    cutoff = now - timedelta(days=PENDING_END_DAYS)
    p = pending_session_ends.c
    gone = conn.execute(pending_session_ends.delete().where(p.received_at < cutoff)).rowcount
    if gone:
        log.info("dropped %d session_end events whose login never came", gone)
