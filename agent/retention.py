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


def prune(db: Database, now: float, days: int, voucher_codes: set[str]) -> dict[str, int]:
    """Delete what is older than `days` before `now` (epoch seconds); counts per table."""
    cutoff = iso(now - days * 86400)
    counts: dict[str, int] = {}
    with db.atomic():
        counts["sessions"] = db.execute(
            "DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < ?", [cutoff]
        ).rowcount
        counts["clients"] = db.execute(
            "DELETE FROM clients WHERE last_seen < ? "
            "AND mac NOT IN (SELECT mac FROM sessions WHERE ended_at IS NULL) "
            "AND mac NOT IN (SELECT mac FROM mac_lists)",
            [cutoff],
        ).rowcount
        counts["remembered"] = db.execute(
            "DELETE FROM remembered WHERE login_at < ?", [cutoff]
        ).rowcount
        codes = sorted(voucher_codes)
        marks = ",".join("?" * len(codes)) or "NULL"
        counts["voucher_uses"] = db.execute(
            f"DELETE FROM voucher_uses WHERE used_at < ? AND code NOT IN ({marks})",  # noqa: S608
            [cutoff, *codes],
        ).rowcount
        counts["guest_data"] = db.execute(
            "DELETE FROM guest_data WHERE last_login_at < ?", [cutoff]
        ).rowcount
        counts["parked_events"] = db.execute(
            "DELETE FROM parked_events WHERE parked_at < ?", [cutoff]
        ).rowcount
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
