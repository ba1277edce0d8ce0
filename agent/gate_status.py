"""What `status` and `client_for_ip` show of a device; `status` in pages or as a stream.

A mixin of `Gate`. `status` at a stadium's size (10,000 guests) is summary
counts and one bounded page, newest first, with a cursor for the next page;
`status_stream` yields the counts and then every client, for a streamed answer. Both read through a
read-only connection of their own (WAL: a snapshot of what is committed), never
under the gate's lock, so a listing never holds up a login. An in-memory store
(tests) has no second connection: it is read under the lock instead.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlite_utils import Database

from porchlight.agent import sessions
from porchlight.agent.store import snapshot
from porchlight.agent.welcome_back import MAX_FAILURES, given_name
from porchlight.events import is_randomized_mac

PAGE_DEFAULT = 100
PAGE_MAX = 1000
RECENT_SECONDS = 86400

_FROM = """
    FROM (SELECT mac FROM clients UNION SELECT mac FROM mac_lists) m
    LEFT JOIN clients c ON c.mac = m.mac
    LEFT JOIN sessions s ON s.mac = m.mac AND s.ended_at IS NULL
    LEFT JOIN mac_lists l ON l.mac = m.mac
    LEFT JOIN remembered r ON r.mac = m.mac
"""
VIEW_SQL = (
    """
    SELECT m.mac, c.ip AS client_ip, c.hostname, c.randomized, c.last_seen,
           s.id AS session_id, s.ip AS session_ip, s.started_at, s.expires_at,
           s.bytes_in, s.bytes_out, s.last_activity_at,
           l.list, r.name AS r_name, r.channel AS r_channel, r.login_at AS r_login_at,
           r.phone_tail AS r_phone_tail, r.failures AS r_failures"""
    + _FROM
)
# who `status` lists: seen in the last day, online, trusted or blocked
_LISTED = "(c.last_seen >= :since OR s.id IS NOT NULL OR l.list IS NOT NULL)"
_NEWEST_FIRST = " ORDER BY coalesce(c.last_seen, '') DESC, m.mac DESC"
# the state `_view` gives, in SQL: a list, else authorized while a second or more is left
_STATE = """CASE WHEN l.list IS NOT NULL THEN l.list
    WHEN s.id IS NOT NULL AND s.expires_at >= :soon AND s.expires_at > s.started_at
    THEN 'authorized' ELSE 'pending' END"""
# module constants only, no input
_COUNT_FROM = "SELECT state, count(*) FROM (SELECT " + _STATE + " AS state " + _FROM  # noqa: S608
_COUNT_SQL = _COUNT_FROM + " WHERE " + _LISTED + ") GROUP BY state"


class StatusView:
    db: Database
    config: dict[str, Any]
    clock: Callable[[], float]
    lock: threading.RLock

    # ---- one device ----------------------------------------------------------------
    def _view(self, row: dict[str, Any], now: float, asked: str | None = None) -> dict[str, Any]:
        session = (
            {"started_at": row["started_at"], "expires_at": row["expires_at"]}
            if row["session_id"]
            else None
        )
        seconds = sessions.remaining(session, now) if session else 0
        bound = row["session_ip"]
        if asked and ":" not in asked and bound and ":" not in bound and bound != asked:
            seconds = 0  # the session is bound to another address: this one is not online
        return {
            "mac": row["mac"],
            "ip": row["client_ip"] or row["session_ip"],
            "state": row["list"] or ("authorized" if seconds > 0 else "pending"),
            "hostname": row["hostname"],
            "randomized": bool(row["randomized"] or is_randomized_mac(row["mac"])),
            "seconds_remaining": seconds,
            "session_id": row["session_id"],
            "remembered": self._remembered(row, now),
        }

    def _remembered(self, row: dict[str, Any], now: float) -> dict[str, Any] | None:
        """The welcome-back offer a device may see: a given name at most, never more."""
        window = int(self.config["session"]["remember_seconds"])
        if not row["r_login_at"] or window <= 0 or (row["r_failures"] or 0) >= MAX_FAILURES:
            return None
        if now - sessions.epoch(row["r_login_at"]) > window:
            return None
        return {
            "name": given_name(row["r_name"], self._country()),
            "channel": row["r_channel"],
            "phone_check": bool(row["r_phone_tail"]),
        }

    def _country(self) -> str:
        return str((self.config.get("location") or {}).get("country") or "VN")

    def _status_view(self, row: dict[str, Any], now: float) -> dict[str, Any]:
        view = self._view(row, now)
        active = row["last_activity_at"]
        view["bytes_in"] = int(row["bytes_in"] or 0)
        view["bytes_out"] = int(row["bytes_out"] or 0)
        view["idle_seconds"] = int(max(0.0, now - sessions.epoch(active))) if active else None
        return view

    # ---- reading without the gate's lock (store.snapshot) -------------------------
    @staticmethod
    def _rows(conn: sqlite3.Connection, sql: str, args: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cursor = conn.execute(sql, args)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def _window(self, now: float, recent_seconds: int) -> dict[str, Any]:
        return {"since": sessions.iso(now - recent_seconds), "soon": sessions.iso(now + 1)}

    # ---- status --------------------------------------------------------------------
    def status(
        self, recent_seconds: int = RECENT_SECONDS, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Clients seen in the last day, online, trusted or blocked (newest first)."""
        page = self.status_page(limit=limit or PAGE_MAX, recent_seconds=recent_seconds)
        return list(page["clients"])

    def status_page(
        self,
        *,
        limit: int = PAGE_DEFAULT,
        after: str | None = None,
        recent_seconds: int = RECENT_SECONDS,
    ) -> dict[str, Any]:
        """{summary, clients: the next `limit` after the cursor `after`, next: cursor or None}."""
        limit = max(1, min(int(limit), PAGE_MAX))
        now = self.clock()
        args = {**self._window(now, recent_seconds), "limit": limit + 1}
        where = _LISTED
        if after:
            seen, _, mac = after.partition("|")
            args.update(after_seen=seen, after_mac=mac)
            where += " AND (coalesce(c.last_seen, ''), m.mac) < (:after_seen, :after_mac)"
        with snapshot(self.db, self.lock) as conn:
            summary = self._summary(conn, args)
            rows = list(
                self._rows(conn, f"{VIEW_SQL} WHERE {where}{_NEWEST_FIRST} LIMIT :limit", args)
            )
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = f"{rows[-1]['last_seen'] or ''}|{rows[-1]['mac']}" if more and rows else None
        return {
            "summary": summary,
            "clients": [self._status_view(row, now) for row in rows],
            "next": cursor,
        }

    @staticmethod
    def _summary(conn: sqlite3.Connection, args: dict[str, Any]) -> dict[str, int]:
        counts = {"total": 0, "authorized": 0, "pending": 0, "trusted": 0, "blocked": 0}
        for state, count in conn.execute(_COUNT_SQL, args):
            counts[state] = int(count)
            counts["total"] += int(count)
        return counts

    def status_stream(self, recent_seconds: int = RECENT_SECONDS) -> Iterator[dict[str, Any]]:
        """The summary counts, then every listed client newest first, one at a time, from
        one snapshot (for a streamed answer)."""
        now = self.clock()
        args = self._window(now, recent_seconds)
        with snapshot(self.db, self.lock) as conn:
            yield self._summary(conn, args)
            for row in self._rows(conn, f"{VIEW_SQL} WHERE {_LISTED}{_NEWEST_FIRST}", args):
                yield self._status_view(row, now)
