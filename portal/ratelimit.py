"""Login attempt limits per MAC and per IP, shared by every gunicorn worker.

The portal has no database of its own; this is a throwaway SQLite file in the
portal's runtime directory (`PORTAL_STATE_DIR`, made by `portal serve`) used
as a counter: fixed windows keyed by ``mac:..`` / ``ip:..`` (each row stamped
with the second its window ends, so limits of different lengths share one
cleanup), plus the nonces
of forms already posted. Without a state dir (tests, the admin preview) the
counters live in one process's memory. If the file cannot be used, the limit
fails open and logs: guests keep getting online.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, window INTEGER NOT NULL,
    count INTEGER NOT NULL, PRIMARY KEY (key, window)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS used (nonce TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
"""


class RateLimiter:
    def __init__(
        self, path: str | Path | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.path = str(path) if path else ":memory:"
        self.clock = clock
        self._lock = threading.Lock()
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None
        self._last_prune = 0.0

    def _db(self) -> sqlite3.Connection:
        if self.path == ":memory:":
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", check_same_thread=False)
                self._shared.executescript(_SCHEMA)
            return self._shared
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=1.0, isolation_level=None)
            db.execute("PRAGMA journal_mode=MEMORY")  # no side files: one file to remove
            db.execute("PRAGMA synchronous=OFF")
            db.executescript(_SCHEMA)
            self._local.db = db
        return db

    def hit(self, key: str, limit: int, window: int) -> bool:
        """Count one attempt for `key`; False when it is over `limit` per `window` s."""
        now = self.clock()
        # a row's `window` is the epoch second its window ends, the same unit for every
        # limit, so one cleanup serves them all whatever their lengths
        ends = (int(now // window) + 1) * window
        try:
            with self._lock:
                db = self._db()
                row = db.execute(
                    "INSERT INTO hits (key, window, count) VALUES (?, ?, 1) "
                    "ON CONFLICT (key, window) DO UPDATE SET count = count + 1 "
                    "RETURNING count",
                    (key, ends),
                ).fetchone()
                if now - self._last_prune > 60:
                    self._last_prune = now
                    db.execute("DELETE FROM hits WHERE window <= ?", (int(now),))
                    db.execute("DELETE FROM used WHERE at < ?", (int(now) - 7200,))
        except sqlite3.Error as exc:
            log.warning("rate limit store unusable (%s); allowing %s", exc, key)
            return True
        return int(row[0]) <= limit

    def first_use(self, nonce: str) -> bool:
        """True the first time a form nonce is seen, False for a repeat post."""
        try:
            with self._lock:
                cursor = self._db().execute(
                    "INSERT OR IGNORE INTO used (nonce, at) VALUES (?, ?)",
                    (nonce, int(self.clock())),
                )
                return cursor.rowcount == 1
        except sqlite3.Error as exc:
            log.warning("rate limit store unusable (%s); accepting the form", exc)
            return True
