"""The kernel side of the gate: the desired set contents from the store, the
periodic reconcile (pure diff from `reconcile.py`, or a full checked rebuild when
the table is gone or altered), byte counters, idle and expiry.

A mixin of `Gate`, kept apart so each module stays about one thing.

A reconcile never holds the gate's lock for its long parts, so a login never
waits for one (issue 18: at 10,000 guests the listing alone is ~0.5 s):

1. the kernel's rule count per chain (one netlink dump, ~1 ms) says whether
   the table is intact; if not (gone, flushed, edited), the whole table is
   rebuilt from the store in one transaction, without listing its elements;
2. every element and its counter is read over netlink (`Nft.read_table`), and
   the store through a read-only connection (one snapshot) — both without the
   lock; from the moment the round starts,
   every element the gate itself changes is noted (`_trackers`);
3. under the lock, in short steps: expired and idle sessions end, byte counters
   are written (in chunks), and the diff is applied in one transaction, minus
   the elements the gate changed meanwhile (those are as the gate left them; the
   next round sees them listed). A rebuild meanwhile (a reload) voids the round.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from porchlight.agent import nft_ruleset, sessions
from porchlight.agent.isolation import apply_isolation
from porchlight.agent.nft import Nft, SetElement, TableState
from porchlight.agent.reconcile import Changes, diff
from porchlight.agent.runner import CommandError
from porchlight.agent.store import snapshot

log = logging.getLogger(__name__)

WRITE_CHUNK = 500  # byte counts written per hold of the lock during a reconcile
END_CHUNK = 50  # sessions ended per hold of the lock (one transaction, ~10 ms)
WALLED = ("walled4", "walled6")  # dnsmasq's sets: kept across a rebuild

# who holds each address an open session is bound to (clients.ip is unique per address)
_HOLDERS_SQL = (
    "SELECT c.ip, c.mac FROM clients c JOIN sessions s ON s.ip = c.ip AND s.ended_at IS NULL"
)
# open sessions with their seconds left (`sessions.remaining`; past its end, minus the
# seconds since) and idle, at :now
_OPEN_SQL = (
    "SELECT id, mac, ip, started_at, "
    "CAST(round(min(julianday(expires_at) - julianday(:now), "
    "julianday(expires_at) - julianday(started_at)) * 86400) AS INTEGER), "
    "(julianday(:now) - julianday(last_activity_at)) * 86400 "
    "FROM sessions WHERE ended_at IS NULL"
)
_BYTES_SQL = (
    "UPDATE sessions SET bytes_out = bytes_out + ?, bytes_in = bytes_in + ?, "
    "last_activity_at = CASE WHEN ? THEN ? ELSE last_activity_at END "
    "WHERE id = ? AND ended_at IS NULL"
)


@dataclass
class StoreView:
    """The store as a reconcile reads it: open sessions (`_OPEN_SQL` rows: id, mac, ip,
    started_at, seconds left, seconds idle), who holds each bound address, the trusted
    and blocked MACs."""

    open_rows: list[tuple[Any, ...]]
    holders: dict[str, str]
    lists: dict[str, list[str]]


class KernelSync:
    db: Database
    nft: Nft
    lock: threading.RLock
    ruleset: nft_ruleset.Ruleset
    spec: nft_ruleset.GateSpec
    config: dict[str, Any]
    clock: Callable[[], float]
    _counters: dict[str, tuple[int, int]]
    _trackers: list[set[tuple[str, str]]]
    _rebuilds: int

    # ---- the gate's own kernel changes ----------------------------------------------
    def _note(self, changes: Changes) -> None:
        """Tell the reconciles in flight that the gate changed these elements itself."""
        if self._trackers:
            keys = changes.keys()
            for touched in self._trackers:
                touched |= keys

    def _apply_changes(self, changes: Changes) -> None:
        if not changes:
            return
        self._note(changes)
        try:
            self.nft.apply(changes.script(), check=False)
        except CommandError:
            log.warning("nft element update failed; the next reconcile will repair it")

    # ---- what the kernel should hold ------------------------------------------------
    @staticmethod
    def _read(conn: Any, now: float) -> StoreView:
        """What `desired` needs, read from `conn` (a snapshot, or the gate's own connection)."""
        lists: dict[str, list[str]] = {"trusted": [], "blocked": []}
        for mac, name in conn.execute("SELECT mac, list FROM mac_lists"):
            lists.setdefault(name, []).append(mac)
        open_rows = conn.execute(_OPEN_SQL, {"now": sessions.iso(now)}).fetchall()
        return StoreView(open_rows, dict(conn.execute(_HOLDERS_SQL).fetchall()), lists)

    def desired(
        self, now: float, view: StoreView | None = None
    ) -> dict[str, dict[str, int | None]]:
        """The managed sets' contents from the store (or from `view`, read earlier)."""
        if view is None:
            with self.lock:
                view = self._read(self.db.conn, now)
        want: dict[str, dict[str, int | None]] = {name: {} for name in nft_ruleset.MANAGED_SETS}
        for name in ("trusted", "blocked"):
            want[name] = dict.fromkeys(view.lists.get(name, []))
        for _id, mac, ip, _started, seconds, _idle in view.open_rows:
            if seconds <= 0 or mac in want["blocked"]:
                continue
            want["allowed"][mac] = seconds
            # bound while no other MAC has claimed the session's address since
            if ip and ":" not in ip and view.holders.get(ip, mac) == mac:
                want["rx4"][ip] = seconds
                want["bound4"][nft_ruleset.bound_key(mac, ip)] = seconds
        for cidr in self.config["walled_garden"]["cidrs"]:
            name, text = nft_ruleset.normalize_cidr(cidr)
            want[name][text] = None
        return want

    def rebuild(self, walled: dict[str, dict[str, Any]] | None = None) -> None:
        """Replace the whole table (checked, atomic), elements from the store, in one
        transaction. `walled`: dnsmasq's walled-garden elements to keep (by set)."""
        self._rebuilds += 1
        now = self.clock()
        elements: dict[str, Any] = dict(self.desired(now))
        for name in WALLED:
            elements[name] = dict.fromkeys((walled or {}).get(name, {}))
        # check the rules (what could be wrong); the elements are validated MACs/IPs, and
        # checking 30,000 of them again would double the time guests are held up
        self.nft.check(nft_ruleset.render(self.ruleset))
        self.nft.apply(nft_ruleset.render(self.ruleset, elements), check=False)
        self._counters = {k: (0, 0) for name in ("allowed", "rx4") for k in elements[name]}
        apply_isolation(self.spec.lan, self.spec.client_isolation)

    def rebuild_keeping_walled(self) -> None:
        """`rebuild`, keeping what dnsmasq put in the walled-garden sets (under the lock)."""
        self.rebuild(self.nft.list_sets(WALLED))

    # ---- the periodic round ---------------------------------------------------------
    def reconcile(self) -> int:
        """Bring the kernel to the store; return the number of element changes (-1: rebuilt)."""
        if not self.ruleset.intact(self.nft.rule_counts()):
            with self.lock:  # looked again under the lock: a reload may have just rebuilt it
                if self.ruleset.intact(self.nft.rule_counts()):
                    return 0
                self.expire()
                log.warning("table inet porchlight missing or altered: rebuilding it")
                self.rebuild_keeping_walled()
                return -1
        touched: set[tuple[str, str]] = set()
        with self.lock:
            self._trackers.append(touched)
            rebuilds = self._rebuilds
        try:
            return self._round(touched, rebuilds)
        finally:
            with self.lock:
                self._trackers.remove(touched)

    def _round(self, touched: set[tuple[str, str]], rebuilds: int) -> int:
        table = self.nft.read_table()  # outside the lock (netlink; ~0.1 s at 10,000)
        if table is None or not self.ruleset.intact(table.rule_counts):
            return self.reconcile()  # altered since the terse look: rebuild
        now = self.clock()
        with snapshot(self.db, self.lock) as conn:
            view = self._read(conn, now)
        ended = self._expire_and_account(view.open_rows, table, now)
        view.open_rows = [row for row in view.open_rows if row[0] not in ended]
        self._forget_counters(view.open_rows, touched)
        want = self.desired(now, view)
        changes = diff(want, self._managed(table))
        with self.lock:
            if self._rebuilds != rebuilds:
                return 0  # the table was rebuilt meanwhile: this listing is void
            changes = changes.without(touched)
            if changes:
                try:
                    self.nft.apply(changes.script(sure=True), check=False)
                except CommandError as exc:
                    log.warning("reconcile could not apply %d changes: %s", changes.count(), exc)
                    return 0
                log.info("reconciled %d set elements", changes.count())
            apply_isolation(self.spec.lan, self.spec.client_isolation)
        return changes.count()

    def _managed(self, table: TableState | None) -> dict[str, dict[str, int | None]]:
        if table is None:
            return {}
        return {name: table.elements(name) for name in nft_ruleset.MANAGED_SETS}

    def _expire_and_account(
        self, open_rows: list[tuple[Any, ...]], table: TableState, now: float
    ) -> set[str]:
        """End expired and idle sessions with the bytes counted since the last round (from
        this round's one listing), fold kernel counters into the others; return the ids of
        the sessions ended. Store writes under the lock, a short batch at a time."""
        idle = int(self.config["session"]["idle_seconds"])
        allowed, rx4 = table.sets.get("allowed", {}), table.sets.get("rx4", {})
        stamp = sessions.iso(now)
        ending: list[sessions.Ending] = []
        updates: list[tuple[Any, ...]] = []
        for row in open_rows:
            sid, mac, ip, started, seconds, idle_for = row
            d_out = self._delta(mac, allowed.get(mac))
            d_in = self._delta(ip or "", rx4.get(ip or ""))
            active = d_out[0] > 0
            if seconds <= 0 or (idle and not active and idle_for > idle):
                session = {"id": sid, "mac": mac, "ip": ip, "started_at": started}
                if seconds <= 0:
                    session["expired_at"] = now + seconds
                ending.append((session, "idle" if seconds > 0 else "expired", d_out[1], d_in[1]))
            elif d_out[1] or d_in[1] or active:
                updates.append((d_out[1], d_in[1], active, stamp, sid))
        for start in range(0, len(updates), WRITE_CHUNK):
            with self.lock, self.db.atomic():
                self.db.conn.executemany(_BYTES_SQL, updates[start : start + WRITE_CHUNK])
        return set(self._end_in_batches(ending, now))

    def _end_in_batches(self, ending: list[sessions.Ending], now: float) -> list[str]:
        """`sessions.end_sessions` END_CHUNK at a time, each its own transaction under the
        lock, which is let go between batches so a login waits for one batch at most
        (10,000 ending in one hold, or 500 transactions in one, held logins for seconds)."""
        ended: list[str] = []
        for start in range(0, len(ending), END_CHUNK):
            with self.lock:
                ended += sessions.end_sessions(self.db, ending[start : start + END_CHUNK], now)
            time.sleep(0)  # a login waiting for the lock takes it now
        return ended

    def _forget_counters(self, live: list[tuple[Any, ...]], touched: set[tuple[str, str]]) -> None:
        """Keep last-seen counters only for open sessions (and what logins added meanwhile):
        per-guest state stays the size of the venue, not of every phone ever seen."""
        keep = {row[1] for row in live} | {row[2] for row in live if row[2]}
        keep |= {key for name, key in touched if name in ("allowed", "rx4")}
        with self.lock:
            for key in [key for key in self._counters if key not in keep]:
                del self._counters[key]

    def _delta(self, key: str, element: SetElement | None) -> tuple[int, int]:
        if not key or element is None:
            # not listed: gone (expired, deleted: its session ends) or missed by a netlink
            # dump that raced a login's insert; the last count stays, or the element's
            # whole count came again with the next listing (bytes counted twice)
            return 0, 0
        packets, nbytes = element.packets, element.bytes
        old = self._counters.get(key)
        self._counters[key] = (packets, nbytes)
        if old is None:
            return 0, 0
        if packets < old[0] or nbytes < old[1]:  # element re-added: counter restarted
            return packets, nbytes
        return packets - old[0], nbytes - old[1]

    def expire(self) -> int:
        """End sessions whose time is up (the kernel already dropped their elements)."""
        now = self.clock()
        with self.lock:
            rows = self.db.query(
                "SELECT id, mac, started_at, expires_at FROM sessions WHERE ended_at IS NULL "
                "AND (expires_at < ? OR expires_at <= started_at)",
                [sessions.iso(now + 1)],
            )
            due = [
                ({**s, "expired_at": sessions.epoch(s["expires_at"])}, "expired", 0, 0)
                for s in rows
                if sessions.remaining(s, now) <= 0
            ]
        return len(self._end_in_batches(due, now))
