"""Neighbour adapter: new MACs and their IPs from netlink RTM_NEWNEIGH events.

No polling and no `ip neigh` process: the watcher binds to the kernel's
neighbour multicast group and calls `on_seen(mac, ip)` as entries appear on the
LAN interface. `lookup(ip)` asks the kernel's table once (netlink) for an IP the
events have not told us about (e.g. right after an agent restart).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

SeenCallback = Callable[[str, str], None]
# REACHABLE STALE DELAY PROBE NOARP PERMANENT
_USABLE_STATES = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80


def _mac_ip(msg: Any) -> tuple[str, str] | None:
    mac, ip = msg.get("NDA_LLADDR"), msg.get("NDA_DST")
    if not mac or not ip or mac == "00:00:00:00:00:00":
        return None
    if ip.startswith(("ff", "224.", "fe80:")) or mac.startswith("33:33"):
        return None
    return str(mac).lower(), str(ip)


class NeighbourWatcher:
    def __init__(self, lan: str, on_seen: SeenCallback) -> None:
        self.lan = lan
        self.on_seen = on_seen
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ipr: Any = None
        self.ifindex: int | None = None

    def start(self) -> None:
        from pyroute2 import IPRoute
        from pyroute2.netlink.rtnl import RTMGRP_NEIGH

        self._ipr = IPRoute()
        indexes = self._ipr.link_lookup(ifname=self.lan)
        if not indexes:
            self._ipr.close()
            raise OSError(f"LAN interface {self.lan!r} does not exist")
        self.ifindex = indexes[0]
        self._ipr.bind(groups=RTMGRP_NEIGH)
        self._thread = threading.Thread(target=self._loop, name="neighbours", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._ipr.get()
            except Exception:  # noqa: BLE001 - a closed socket on stop, or a netlink hiccup
                if self._stop.is_set():
                    return
                log.exception("neighbour events: read failed")
                self._stop.wait(1.0)
                continue
            for msg in messages:
                if msg.get("event") != "RTM_NEWNEIGH" or msg.get("ifindex") != self.ifindex:
                    continue
                pair = _mac_ip(msg)
                if pair is None:
                    continue
                try:
                    self.on_seen(*pair)
                except Exception:  # noqa: BLE001 - one bad callback must not stop watching
                    log.exception("neighbour callback failed for %s", pair)

    def stop(self) -> None:
        self._stop.set()
        if self._ipr is not None:
            try:
                self._ipr.close()
            except Exception:  # noqa: BLE001
                log.debug("closing netlink socket failed", exc_info=True)


def lookup(lan: str, ip: str) -> str | None:
    """The MAC the kernel holds for `ip` on `lan`, or None."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        indexes = ipr.link_lookup(ifname=lan)
        if not indexes:
            return None
        for msg in ipr.neigh("dump", ifindex=indexes[0]):
            pair = _mac_ip(msg)
            if pair and pair[1] == ip and msg.get("state", 0) & _USABLE_STATES:
                return pair[0]
    return None
