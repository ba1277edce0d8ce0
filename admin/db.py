"""The admin store: one SQLAlchemy Core engine per app, SQLite (WAL) or PostgreSQL.

Schema lives in `porchlight.admin.schema` and changes only through the Alembic
history in `porchlight/admin/migrations` (one history for both databases).
Times are stored as naive UTC and come back as aware UTC (`UTCDateTime`).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Connection, Engine

from porchlight.admin.config import AdminConfig
from porchlight.admin.customers.search_text import register_sqlite

log = logging.getLogger(__name__)

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, naive UTC in the table."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


BUSY_TIMEOUT_MS = 10000  # how long SQLite waits for another writer before "database is locked"
WRITE_POLL_S = 0.002  # begin_immediate tries again this often


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()
    register_sqlite(dbapi_connection)  # pl_search_doc(), for the customer search's triggers


def begin_immediate(conn: Connection) -> None:
    """SQLite's BEGIN IMMEDIATE (the write lock up front), tried every 2 ms while it is held.

    SQLite's own busy handler sleeps longer and longer between its tries (1, 2,
    5, 10, 15, 20, 25, 25, 25, 50, 50, then 100 ms), so a login that came
    while a retention transaction held the lock got it up to 25, 50 or 100 ms
    after it was let go. Here the handler is off (busy_timeout 0) while the
    lock is asked for again every `WRITE_POLL_S`, for as long as the busy
    timeout; a login then waits about what the holder has left.
    """
    conn.exec_driver_sql("PRAGMA busy_timeout=0")
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    try:
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa.exc.OperationalError as e:
                if "locked" not in str(e.orig) or time.monotonic() >= deadline:
                    raise
            time.sleep(WRITE_POLL_S)
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def make_engine(url: str) -> Engine:
    """An engine for `url` (``sqlite:///path`` or ``postgresql+psycopg://...``)."""
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 10})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = sa.create_engine(url, pool_size=5, max_overflow=10, pool_use_lifo=True)
    sa.event.listen(engine.pool, "connect", _note_checkin)
    sa.event.listen(engine.pool, "checkin", _note_checkin)
    sa.event.listen(engine.pool, "checkout", _ping_if_idle(engine.dialect))
    return engine


# A pooled PostgreSQL connection is pinged before use only when it sat idle
# for longer than this. pool_pre_ping pinged on every checkout: a list page
# checks out 5 times, 5 round trips (~4 ms of ~45). A connection returned
# within the last second is alive unless the server went away in that second;
# then the request fails and SQLAlchemy throws the whole pool away. LIFO hands
# a request the connection it just returned.
PING_AFTER_IDLE_S = 1.0


def _note_checkin(dbapi_conn: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dialect: sa.engine.Dialect) -> Any:
    def checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get("checked_in_at")
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            alive = dialect.do_ping(dbapi_conn)
        except Exception as e:
            raise sa.exc.DisconnectionError(str(e)) from e
        if not alive:
            raise sa.exc.DisconnectionError("the ping got no answer")

    return checkout


def get_engine() -> Engine:
    """The admin app's engine (inside a request or app context)."""
    return cast(Engine, current_app.extensions["porchlight.engine"])


def read_rows(query: sa.Executable, conn: Connection | None = None) -> list[Any]:
    """`query`'s rows, read on `conn` (a request's open connection), else on a
    connection of its own (a template's context processor)."""
    if conn is not None:
        return list(conn.execute(query))
    with get_engine().connect() as own:
        return list(own.execute(query))


def serial_plans(conn: Connection) -> None:
    """For the rest of `conn`'s transaction, PostgreSQL plans without parallel
    workers. A list page walks an index and stops after one page: starting two
    workers cost more than they saved, and on a small box they take the cores
    the other requests need (tags-all at 1M: 10 ms alone, 31-36 ms in parallel
    at load 1.5)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def engine_from_env() -> Engine:
    """The engine for ``PORCHLIGHT_ADMIN_DATABASE_URL`` (no secret key needed): CLI commands."""
    return make_engine(AdminConfig.from_env(require_secret=False).DATABASE_URL)


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The new primary key of a one-row INSERT."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("INSERT returned no primary key")
    return int(key[0])
