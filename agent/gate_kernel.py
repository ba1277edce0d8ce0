"""The kernel side of the gate: the desired set contents from the store, the
periodic reconcile (pure diff from `reconcile.py`, or a full checked rebuild when
the table is gone or altered), byte counters, idle and expiry.

A mixin of `Gate`, kept apart so each module stays about one thing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from porchlight.agent import nft_ruleset, sessions
from porchlight.agent.isolation import apply_isolation
from porchlight.agent.nft import Nft, TableState
from porchlight.agent.reconcile import Changes, diff
from porchlight.agent.runner import CommandError

log = logging.getLogger(__name__)

# who holds each address an open session is bound to (clients.ip is unique per address)
_HOLDERS_SQL = (
    "SELECT c.ip, c.mac FROM clients c JOIN sessions s ON s.ip = c.ip AND s.ended_at IS NULL"
)


class KernelSync:
    db: Database
    nft: Nft
    lock: threading.RLock
    ruleset: nft_ruleset.Ruleset
    spec: nft_ruleset.GateSpec
    config: dict[str, Any]
    clock: Callable[[], float]
    _counters: dict[str, tuple[int, int]]

    def _list(self) -> TableState | None:
        return self.nft.list_table()

    def _apply_changes(self, changes: Changes) -> None:
        if not changes:
            return
        try:
            self.nft.apply(changes.script(), check=False)
        except CommandError:
            log.warning("nft element update failed; the next reconcile will repair it")

    def desired(self, now: float) -> dict[str, dict[str, int | None]]:
        want: dict[str, dict[str, int | None]] = {name: {} for name in nft_ruleset.MANAGED_SETS}
        for name in ("trusted", "blocked"):
            want[name] = dict.fromkeys(sessions.macs_in(self.db, name))
        holders = {r["ip"]: r["mac"] for r in self.db.query(_HOLDERS_SQL)}
        for session in sessions.open_sessions(self.db):
            seconds = sessions.remaining(session, now)
            mac = session["mac"]
            if seconds <= 0 or mac in want["blocked"]:
                continue
            want["allowed"][mac] = seconds
            ip = session["ip"]
            # bound while no other MAC has claimed the session's address since
            if ip and ":" not in ip and holders.get(ip, mac) == mac:
                want["rx4"][ip] = seconds
                want["bound4"][nft_ruleset.bound_key(mac, ip)] = seconds
        for cidr in self.config["walled_garden"]["cidrs"]:
            name, text = nft_ruleset.normalize_cidr(cidr)
            want[name][text] = None
        return want

    def rebuild(self, table: TableState | None = None) -> None:
        """Replace the whole table (checked, atomic), elements from the store."""
        now = self.clock()
        elements: dict[str, Any] = dict(self.desired(now))
        if table is not None:  # keep what dnsmasq put in the walled-garden sets
            for name in ("walled4", "walled6"):
                elements[name] = {k: None for k in table.elements(name)}
        # check the rules (what could be wrong); the elements are validated MACs/IPs, and
        # checking 5,000 of them again would double the time guests are held up
        self.nft.check(nft_ruleset.render(self.ruleset))
        self.nft.apply(nft_ruleset.render(self.ruleset, elements), check=False)
        self._counters = {k: (0, 0) for name in ("allowed", "rx4") for k in elements[name]}
        apply_isolation(self.spec.lan, self.spec.client_isolation)

    def reconcile(self) -> int:
        """Bring the kernel to the store; return the number of element changes (-1: rebuilt)."""
        # outside the lock: an authorize waits for no store work here, only (with libnftables,
        # one call at a time) for the listing itself, ~0.1 s at 5,000 guests, once a period
        table = self._list()
        with self.lock:
            self.expire()
            if table is None or table.rule_counts != self.ruleset.rule_counts():
                log.warning("table inet porchlight missing or altered: rebuilding it")
                self.rebuild(table)
                return -1
            self._account(table)
            apply_isolation(self.spec.lan, self.spec.client_isolation)
            changes = diff(self.desired(self.clock()), self._managed(table))
            if changes:
                try:
                    self.nft.apply(changes.script(), check=False)
                except CommandError:  # an element expired between listing and applying
                    table = self._list()
                    changes = diff(self.desired(self.clock()), self._managed(table))
                    self.nft.apply(changes.script(), check=False)
                log.info("reconciled %d set elements", changes.count())
            return changes.count()

    def _managed(self, table: TableState | None) -> dict[str, dict[str, int | None]]:
        if table is None:
            return {}
        return {name: table.elements(name) for name in nft_ruleset.MANAGED_SETS}

    def _account(self, table: TableState) -> None:
        """Fold kernel counters into open sessions: bytes, last activity, idle timeout."""
        now = self.clock()
        idle = int(self.config["session"]["idle_seconds"])
        allowed, rx4 = table.sets.get("allowed", {}), table.sets.get("rx4", {})
        with self.db.atomic():
            for session in sessions.open_sessions(self.db):
                up = allowed.get(session["mac"])
                down = rx4.get(session["ip"] or "")
                d_out = self._delta(session["mac"], up.packets if up else 0, up.bytes if up else 0)
                d_in = self._delta(
                    session["ip"] or "", down.packets if down else 0, down.bytes if down else 0
                )
                active = d_out[0] > 0
                if d_out[1] or d_in[1] or active:
                    self.db.execute(
                        "UPDATE sessions SET bytes_out = bytes_out + ?, bytes_in = bytes_in + ?, "
                        "last_activity_at = CASE WHEN ? THEN ? ELSE last_activity_at END "
                        "WHERE id = ?",
                        [d_out[1], d_in[1], active, sessions.iso(now), session["id"]],
                    )
                last = sessions.epoch(session["last_activity_at"])
                if idle and not active and now - last > idle:
                    sessions.end_session(self.db, session, now, "idle")

    def _delta(self, key: str, packets: int, nbytes: int) -> tuple[int, int]:
        if not key:
            return 0, 0
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
        count = 0
        for session in sessions.open_sessions(self.db):
            if sessions.remaining(session, now) <= 0:
                count += sessions.end_session(self.db, session, now, "expired")
        return count
