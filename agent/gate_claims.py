"""Who holds an IP on the LAN: the kernel's neighbour entry, and what follows a new claim.

A mixin of `Gate`. The kernel's neighbour table is the truth for "which MAC is
behind this IP right now"; the store's ``clients.ip`` follows it and holds each
IPv4 address for at most one MAC. When a second MAC claims an address (a
neighbour's gratuitous ARP, DHCP handing a departed phone's address to a new
one, a clone), the old holder's row loses the address at once, its session's
MAC+IP binding leaves the kernel and its connections are flushed, and the
change is logged. When the session's own MAC claims its address back, the
binding returns at once.

`seen()` still skips rewriting the same facts within `SEEN_REFRESH` seconds
(neighbour entries flap REACHABLE/STALE every few seconds) — but never when the
address changed hands in between.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from porchlight.agent import nft_ruleset, sessions
from porchlight.agent.conntrack import Conntrack
from porchlight.agent.gate_kernel import KernelSync
from porchlight.agent.reconcile import Changes
from porchlight.agent.runner import CommandError

log = logging.getLogger(__name__)

SEEN_REFRESH = 300.0
Resolver = Callable[[str], "str | None"]


class ClaimTracker(KernelSync):
    conntrack: Conntrack
    resolve_mac: Resolver | None
    _seen: dict[tuple[str, tuple[tuple[str, Any], ...]], float]
    _owners: dict[str, str]  # IPv4 -> MAC, as last written to the store

    def kernel_mac(self, address: str) -> str | None:
        """The MAC the kernel's neighbour table holds for `address` now (None: none).

        Without a resolver (unit tests, `watch=False`), the store's answer stands.
        """
        if self.resolve_mac is None:
            return None
        return self.resolve_mac(address)

    def record(self, mac: str, **kwargs: Any) -> None:
        """Write what was seen of `mac` (cleaned values; `ip`/`ip6`, hostname ...)."""
        now = self.clock()
        key = (mac, tuple(sorted((k, v) for k, v in kwargs.items() if v)))
        address = kwargs.get("ip")
        with self.lock:
            moved = address is not None and self._owners.get(address) != mac
            if not moved and now - self._seen.get(key, -1e18) < SEEN_REFRESH:
                return
            if len(self._seen) > 50_000:
                self._seen.clear()
                self._owners.clear()
            dropped: list[tuple[str, str]] = []
            with self.db.atomic():
                if address is not None:
                    dropped = self._take_address(mac, address)
                sessions.touch_client(self.db, mac, now, **kwargs)
            if address is not None:
                self._owners[address] = mac
                self._after_claim(mac, address, dropped, now)
            self._seen[key] = now

    def _take_address(self, mac: str, address: str) -> list[tuple[str, str]]:
        """Take `address` away from any other MAC in the store; (mac, ip) of bindings lost."""
        dropped = []
        others = [
            r["mac"]
            for r in self.db.query(
                "SELECT mac FROM clients WHERE ip = ? AND mac != ?", [address, mac]
            )
        ]
        for other in others:
            self.db.execute("UPDATE clients SET ip = NULL WHERE mac = ?", [other])
            session = sessions.open_session(self.db, other)
            bound = bool(session) and (session or {}).get("ip") == address
            log.warning(
                "IP %s claimed by %s, held by %s until now%s",
                address,
                mac,
                other,
                ": its session's binding is dropped" if bound else "",
            )
            if bound:
                dropped.append((other, address))
        return dropped

    def _after_claim(
        self, mac: str, address: str, dropped: list[tuple[str, str]], now: float
    ) -> None:
        for other, ip in dropped:
            self._unbind(other, ip)
            try:
                self.conntrack.flush(ip)
            except CommandError:
                log.exception("conntrack flush for %s failed", ip)
        session = sessions.open_session(self.db, mac)
        if session and session.get("ip") is None and ":" not in address:
            # an operator's `auth MAC` before the device had an address: bind its first
            self.db.execute("UPDATE sessions SET ip = ? WHERE id = ?", [address, session["id"]])
            session["ip"] = address
        if session and session.get("ip") == address:  # its own address (back): bound
            seconds = sessions.remaining(session, now)
            if seconds > 0:
                key = nft_ruleset.bound_key(mac, address)
                self._apply_changes(
                    Changes(add={"bound4": {key: seconds}, "rx4": {address: seconds}})
                )

    def _unbind(self, mac: str, ip: str | None) -> None:
        """Take a session's MAC+IP binding (and its download counter) out of the kernel."""
        if not ip or ":" in ip:
            return
        for name, key in (("bound4", nft_ruleset.bound_key(mac, ip)), ("rx4", ip)):
            changes = Changes(delete={name: [key]})
            self._note(changes)
            try:
                self.nft.apply(changes.script(), check=False)
            except CommandError as exc:
                if "No such file" not in exc.stderr and "No such file" not in exc.message:
                    log.warning("removing %s from %s failed: %s", key, name, exc)
