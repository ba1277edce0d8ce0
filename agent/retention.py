"""The router's own retention: device data older than the tenant's device window goes.

The admin sends the window in the location config (``privacy.device_days``,
default 90). The sync worker calls `prune_if_due` after each config poll;
once an hour it deletes from the store what is older than the window:
closed sessions (MAC, IP, name, byte counters), clients not seen since (not
online, not trusted or blocked), "welcome back" memories, voucher uses of
codes no longer handed out, and events the admin refused long ago. The admin
keeps the history it needs; the router keeps only what it uses.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from porchlight.agent.sessions import iso
from porchlight.agent.store import kv_get, kv_set

log = logging.getLogger(__name__)

DEFAULT_DEVICE_DAYS = 90
EVERY_SECONDS = 3600
KEY_PRUNED = "retention.pruned_at"
KEY_GOOD = "sync.config_good"  # the last applied config (agent/sync_config.py)


def device_days(config: dict[str, Any] | None) -> int:
    """``privacy.device_days`` of a config, or the default when missing or odd."""
    value = ((config or {}).get("privacy") or {}).get("device_days")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        return DEFAULT_DEVICE_DAYS
    return value


# What goes, in this order (a client's sessions before the client): the table,
# its time column (indexed, m001/m002/m004/m005) and what else keeps a row.
PRUNED = [
    ("sessions", "ended_at", ""),
    (
        "clients",
        "last_seen",
        "AND mac NOT IN (SELECT mac FROM sessions WHERE ended_at IS NULL) "
        "AND mac NOT IN (SELECT mac FROM mac_lists)",
    ),
    ("remembered", "login_at", ""),
    ("voucher_uses", "used_at", "AND code NOT IN ({codes})"),
    ("guest_data", "last_login_at", ""),
    ("parked_events", "parked_at", ""),
]
BATCH_MS = 20.0  # one transaction aims at this: the gate's logins wait at most one
FIRST_BATCH, MAX_BATCH = 100, 2000
MIN_PAUSE = 0.005  # seconds between transactions, and at least as long as one held the lock


def _batch(db: Database, walk: tuple[str, str, list[Any]], cursor: list[Any], size: int) -> int:
    """One transaction: the next `size` rows of the walk by (time, rowid) go; rows walked."""
    table, select, params = walk
    db.execute("BEGIN IMMEDIATE")  # a write lock from the start: no upgrade to fail on
    try:
        rows = db.execute(select, [*params, cursor[0], cursor[0], cursor[1], size]).fetchall()
        if rows:
            doomed = [row[0] for row in rows]
            marks = ",".join("?" * len(doomed))
            db.execute(f"DELETE FROM {table} WHERE rowid IN ({marks})", doomed)  # noqa: S608
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    if rows:
        cursor[:] = [rows[-1][1], rows[-1][0]]
    return len(rows)


def _prune_table(
    db: Database,
    walk: tuple[str, str, list[Any]],
    stats: dict[str, Any],
    between: Callable[[], None],
) -> int:
    """Walk one table's rows older than the cutoff in short transactions; rows deleted."""
    size, deleted, cursor = FIRST_BATCH, 0, ["", 0]
    while True:
        started = time.perf_counter()
        done = _batch(db, walk, cursor, size)
        held = (time.perf_counter() - started) * 1000
        stats["transactions"] += 1
        stats["most_rows"] = max(stats["most_rows"], done)
        stats["longest_ms"] = max(stats["longest_ms"], round(held, 1))
        deleted += done
        between()
        if done < size:
            return deleted
        if held > BATCH_MS:
            size = max(10, int(size * BATCH_MS / held * 0.8))
        elif held < BATCH_MS / 2:
            size = min(MAX_BATCH, size * 2)
        time.sleep(max(MIN_PAUSE, held / 1000))  # the gate's writes get in


def prune(
    db: Database,
    now: float,
    days: int,
    voucher_codes: set[str],
    *,
    stats: dict[str, Any] | None = None,
    between: Callable[[], None] = lambda: None,
) -> dict[str, int]:
    """Delete what is older than `days` before `now` (epoch seconds); counts per table.

    In short transactions (about `BATCH_MS` each, walking each table's time
    index), never one long one: the gate's logins and session updates write
    to the same store meanwhile. `between` is called after each COMMIT;
    `stats`, if given, gets the transactions' count, the most rows one
    deleted and the longest one's hold in ms.
    """
    cutoff = iso(now - days * 86400)
    counts: dict[str, int] = {}
    stats = stats if stats is not None else {}
    stats.update(transactions=0, most_rows=0, longest_ms=0.0)
    codes = sorted(voucher_codes)
    for table, col, keep in PRUNED:
        if "{codes}" in keep:  # no codes handed out: every old use goes (NOT IN (NULL) kept all)
            keep = keep.format(codes=",".join("?" * len(codes))) if codes else ""
        select = (
            f"SELECT rowid, {col} FROM {table} WHERE {col} < ? {keep} "  # noqa: S608
            f"AND {col} >= ? AND ({col} > ? OR rowid > ?) ORDER BY {col}, rowid LIMIT ?"
        )
        params = [cutoff, *(codes if table == "voucher_uses" else [])]
        counts[table] = _prune_table(db, (table, select, params), stats, between)
    return counts


def prune_if_due(db: Database, now: float | None = None) -> dict[str, int] | None:
    """Prune by the applied config's window at most once an hour; None when not due."""
    now = time.time() if now is None else now
    last = kv_get(db, KEY_PRUNED)
    if last is not None and now - float(last) < EVERY_SECONDS:
        return None
    raw = kv_get(db, KEY_GOOD)
    config = json.loads(raw) if raw else None
    codes = {
        str(v.get("code")) for v in (config or {}).get("vouchers") or [] if isinstance(v, dict)
    }
    counts = prune(db, now, device_days(config), codes)
    kv_set(db, KEY_PRUNED, str(now))
    if any(counts.values()):
        log.info("retention: pruned %s", ", ".join(f"{n} {t}" for t, n in counts.items() if n))
    return counts
