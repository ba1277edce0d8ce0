"""The agent's local SQLite store: the truth the kernel sets are brought to.

One file, ``<state-dir>/agent.db``, opened through sqlite-utils (>=4) with WAL,
a busy timeout (the sync worker has its own connection to the same file) and
the schema built by the `MIGRATIONS` below. ``atomic()`` begins IMMEDIATE (see
`AgentDatabase`).

Tables:

- ``clients``: every MAC seen (ip, hostname, vendor_class, randomized, first/last seen).
- ``sessions``: one row per session; at most one open (``ended_at IS NULL``) per MAC.
- ``mac_lists``: operator decisions, ``list`` is ``trusted`` or ``blocked``.
- ``voucher_uses``: one row per voucher redemption (code, mac, session).
- ``remembered``: last login per MAC, for the "welcome back" offer: the given
  name only, the phone's last 3 digits, the hash of the browser's proof and
  the wrong tries (m003; see welcome_back.py).
- ``outbox``: guest events (JSON validated by `porchlight.events.validate_event`)
  waiting for the sync worker, written in the same transaction as the state change.
- ``kv``: small agent state (applied config, config ETag, ...).
- ``parked_events``: outbox events the admin refused for good (409/422), with
  the answer, moved out of the outbox by the sync worker (m002).
- ``guest_data``: per MAC, what the portal's "My data" shows (name, phone and
  e-mail masked, consents, logins here), agent/guest_data.py (m004).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from porchlight.events import validate_event

log = logging.getLogger(__name__)

DB_FILENAME = "agent.db"
BUSY_TIMEOUT_MS = 5000

MIGRATIONS = Migrations("porchlight.agent")


@MIGRATIONS()
def m001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            event_id TEXT UNIQUE NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        CREATE TABLE clients (
            mac TEXT PRIMARY KEY,
            ip TEXT,
            ip6 TEXT,
            hostname TEXT,
            vendor_class TEXT,
            randomized INTEGER NOT NULL DEFAULT 0,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL
        );
        CREATE INDEX clients_ip ON clients (ip);
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            mac TEXT NOT NULL,
            ip TEXT,
            channel TEXT NOT NULL,
            name TEXT,
            voucher TEXT,
            started_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            ended_at TEXT,
            last_activity_at TEXT NOT NULL,
            bytes_in INTEGER NOT NULL DEFAULT 0,
            bytes_out INTEGER NOT NULL DEFAULT 0,
            reason TEXT
        );
        CREATE UNIQUE INDEX sessions_one_open_per_mac ON sessions (mac) WHERE ended_at IS NULL;
        CREATE INDEX sessions_mac ON sessions (mac, started_at);
        CREATE TABLE mac_lists (
            mac TEXT PRIMARY KEY,
            list TEXT NOT NULL CHECK (list IN ('trusted', 'blocked')),
            added_at TEXT NOT NULL
        );
        CREATE TABLE voucher_uses (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL,
            mac TEXT NOT NULL,
            session_id TEXT NOT NULL,
            used_at TEXT NOT NULL
        );
        CREATE INDEX voucher_uses_code ON voucher_uses (code, mac);
        CREATE TABLE remembered (
            mac TEXT PRIMARY KEY,
            name TEXT,
            channel TEXT NOT NULL,
            login_at TEXT NOT NULL
        );
        """
    )


@MIGRATIONS()
def m002_parked_events(db: Database) -> None:
    """Refused events get their own table (they were ``kv`` rows ``sync.rejected:<id>``)."""
    db.execute(
        """
        CREATE TABLE parked_events (
            event_id TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            status INTEGER,
            error TEXT,
            reason TEXT NOT NULL,
            parked_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX parked_events_at ON parked_events (parked_at)")
    db.execute(
        "INSERT INTO parked_events (event_id, body, reason, parked_at) "
        "SELECT substr(key, 15), coalesce(value, ''), 'refused by the admin (reason not kept)', "
        "strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM kv WHERE key LIKE 'sync.rejected:%'"
    )
    db.execute("DELETE FROM kv WHERE key LIKE 'sync.rejected:%'")


@MIGRATIONS()
def m003_welcome_back_proof(db: Database) -> None:
    """Welcome back needs a proof: the phone's last digits, a cookie's hash, wrong tries."""
    db.execute("ALTER TABLE remembered ADD COLUMN phone_tail TEXT")
    db.execute("ALTER TABLE remembered ADD COLUMN proof TEXT")
    db.execute("ALTER TABLE remembered ADD COLUMN failures INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS()
def m004_guest_data(db: Database) -> None:
    """What the portal's "My data" shows a device (agent/guest_data.py): masked, per MAC."""
    db.execute(
        """
        CREATE TABLE guest_data (
            mac TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            name TEXT,
            phone_masked TEXT,
            email_masked TEXT,
            consents TEXT NOT NULL DEFAULT '[]',
            visits INTEGER NOT NULL DEFAULT 0,
            first_login_at TEXT NOT NULL,
            last_login_at TEXT NOT NULL,
            erasure_requested_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX guest_data_last ON guest_data (last_login_at)")


@MIGRATIONS()
def m005_retention_indexes(db: Database) -> None:
    """Retention walks each table by its time (agent/retention.py): an index for each walk."""
    db.execute("CREATE INDEX sessions_ended ON sessions (ended_at) WHERE ended_at IS NOT NULL")
    db.execute("CREATE INDEX clients_last_seen ON clients (last_seen)")
    db.execute("CREATE INDEX remembered_login ON remembered (login_at)")
    db.execute("CREATE INDEX voucher_uses_used ON voucher_uses (used_at)")


class AgentDatabase(Database):
    """sqlite-utils' Database whose outermost ``atomic()`` is BEGIN IMMEDIATE.

    A deferred BEGIN that reads and then writes fails at once with "database is
    locked" (busy timeout or not) when the other connection (the sync worker's)
    committed in between: in a 500-phone storm a login did. Taking the write lock
    at BEGIN makes the other connection wait its turn instead. Nested blocks stay
    savepoints."""

    @contextmanager
    def atomic(self) -> Iterator[Database]:  # type: ignore[override]
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self.rollback()
            raise


def open_db(path: str | Path) -> Database:
    """Open (creating if needed) the agent store at `path`, migrated, in WAL mode."""
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db = AgentDatabase(conn)
    if str(path) != ":memory:":
        db.enable_wal()
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    MIGRATIONS.apply(db)
    return db


_FILES: weakref.WeakKeyDictionary[Database, str] = weakref.WeakKeyDictionary()  # store -> file


@contextmanager
def snapshot(db: Database, lock: AbstractContextManager[Any]) -> Iterator[sqlite3.Connection]:
    """A read-only connection to `db`'s file holding one snapshot (WAL: what is committed),
    so long reads (status, a reconcile) never take `lock`, the gate's; an in-memory store
    (tests) has no second connection: its own connection is read under `lock`."""
    path = _FILES.get(db)
    if path is None:
        with lock:  # asked once per store, on its own connection (never beside a transaction)
            rows = db.execute("PRAGMA database_list").fetchall()
        path = _FILES[db] = next((row[2] for row in rows if row[1] == "main"), "")
    if not path:
        with lock:
            yield db.conn
        return
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
    try:
        conn.execute("BEGIN")
        yield conn
    finally:
        conn.close()


def db_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / DB_FILENAME


def enqueue_event(db: Database, event: dict[str, Any]) -> dict[str, Any]:
    """Validate `event` and add it to the outbox; call inside the state change's transaction."""
    return enqueue_events(db, [event])[0]


def enqueue_events(db: Database, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`enqueue_event` for many, in one statement (a batch of sessions ending)."""
    clean = [validate_event(event) for event in events]
    db.conn.executemany(
        "INSERT INTO outbox (event_id, body, created_at) VALUES (?, ?, ?)",
        [
            (e["id"], json.dumps(e, ensure_ascii=False, sort_keys=True), e["occurred_at"])
            for e in clean
        ],
    )
    return clean


def outbox_depth(db: Database) -> int:
    row = db.execute("SELECT count(*) FROM outbox").fetchone()
    return int(row[0]) if row else 0


def kv_get(db: Database, key: str) -> str | None:
    row = db.execute("SELECT value FROM kv WHERE key = ?", [key]).fetchone()
    return None if row is None else row[0]


def kv_set(db: Database, key: str, value: str | None) -> None:
    db.execute(
        "INSERT INTO kv (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
