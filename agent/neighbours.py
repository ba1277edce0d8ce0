"""Neighbour adapter: new MACs and their IPs from netlink RTM_NEWNEIGH events.

No polling and no `ip neigh` process: the watcher binds to the kernel's
neighbour multicast group and calls `on_seen(mac, ip)` as entries appear on the
LAN interface. `lookup(ip)` asks the kernel's table for one IP (netlink) at the
moment the answer matters: which device is behind the portal's visitor now.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
import struct
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
    def __init__(
        self, lan: str, on_seen: SeenCallback, on_port: Callable[[str], object] | None = None
    ) -> None:
        self.lan = lan
        self.on_seen = on_seen
        # a link joined the LAN bridge (RTM_NEWLINK with it as master): client isolation
        # is applied to it at once, not at the next reconcile
        self.on_port = on_port
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ipr: Any = None
        self.ifindex: int | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start watching; raises OSError if the LAN interface or netlink is unusable.

        pyroute2 (0.9) ties a socket to the thread's event loop, so the socket is
        made, bound and read in the watcher thread itself.
        """
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, errors), name="neighbours", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise OSError("netlink neighbour watcher did not start")
        if errors:
            raise OSError(f"neighbour watcher: {errors[0]}") from errors[0]

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        from pyroute2 import IPRoute
        from pyroute2.netlink.rtnl import RTMGRP_LINK, RTMGRP_NEIGH

        try:
            self._ipr = IPRoute()
            self._ipr.bind(groups=RTMGRP_NEIGH | (RTMGRP_LINK if self.on_port else 0))
            indexes = self._ipr.link_lookup(ifname=self.lan)
            if not indexes:
                raise OSError(f"LAN interface {self.lan!r} does not exist")
            self.ifindex = indexes[0]
        except Exception as exc:  # noqa: BLE001 - reported to start()
            errors.append(exc)
            ready.set()
            return
        ready.set()
        try:  # clients already on the LAN before we started: one dump, then events only
            for msg in self._ipr.neigh("dump", ifindex=self.ifindex):
                pair = _mac_ip(msg)
                if pair and msg.get("state", 0) & _USABLE_STATES:
                    self.on_seen(*pair)
        except Exception:  # noqa: BLE001 - events still work without the seed
            log.exception("initial neighbour dump failed")
        self._loop()

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
                if msg.get("event") == "RTM_NEWLINK":
                    self._link(msg)
                    continue
                if msg.get("event") != "RTM_NEWNEIGH" or msg.get("ifindex") != self.ifindex:
                    continue
                pair = _mac_ip(msg)
                if pair is None:
                    continue
                try:
                    self.on_seen(*pair)
                except Exception:  # noqa: BLE001 - one bad callback must not stop watching
                    log.exception("neighbour callback failed for %s", pair)

    def _link(self, msg: Any) -> None:
        if self.on_port is None or msg.get("IFLA_MASTER") != self.ifindex:
            return
        try:
            self.on_port(str(msg.get("IFLA_IFNAME")))
        except Exception:  # noqa: BLE001 - one bad callback must not stop watching
            log.exception("bridge port callback failed")

    def stop(self) -> None:
        self._stop.set()
        if self._ipr is not None:
            try:
                self._ipr.close()
            except Exception:  # noqa: BLE001
                log.debug("closing netlink socket failed", exc_info=True)


_RTM_NEWNEIGH, _RTM_GETNEIGH, _NLMSG_ERROR = 28, 30, 2
_NDA_DST, _NDA_LLADDR = 1, 2


def lookup(lan: str, ip: str) -> str | None:
    """The MAC the kernel holds for `ip` on `lan` now, or None (one netlink RTM_GETNEIGH).

    Asked at the moment the portal needs it (client_for_ip, authorize): the store
    only remembers, the kernel knows. One entry, not a dump of the whole table, on
    a plain netlink socket of its own (~0.1 ms, any thread; pyroute2's setup costs
    ~1 ms a call and ties its socket to one thread), so it costs the same at 10 or
    10,000 guests.
    """
    try:
        ifindex = socket.if_nametoindex(lan)
        address = ipaddress.ip_address(ip)
    except (OSError, ValueError):
        return None
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    attr = struct.pack("=HH", 4 + len(address.packed), _NDA_DST) + address.packed
    body = struct.pack("=BBHiHBB", family, 0, 0, ifindex, 0, 0, 0) + attr
    header = struct.pack("=IHHII", 16 + len(body), _RTM_GETNEIGH, 1, 1, 0)  # NLM_F_REQUEST
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as sock:
        sock.settimeout(1.0)
        sock.send(header + body)
        reply = sock.recv(65536)
    return _parse_neighbour(reply)


def _parse_neighbour(reply: bytes) -> str | None:
    if len(reply) < 16:
        return None
    length, kind = struct.unpack_from("=IH", reply)
    if kind == _NLMSG_ERROR:
        (error,) = struct.unpack_from("=i", reply, 16)
        if -error in (errno.ENOENT, errno.ENODEV, errno.EINVAL, 0):
            return None
        raise OSError(-error, os.strerror(-error))
    if kind != _RTM_NEWNEIGH or len(reply) < 28:
        return None
    state = struct.unpack_from("=H", reply, 24)[0]
    offset, end = 28, min(length, len(reply))
    mac = None
    while offset + 4 <= end:
        size, attr = struct.unpack_from("=HH", reply, offset)
        if size < 4:
            break
        if attr == _NDA_LLADDR and size == 10:
            mac = ":".join(f"{b:02x}" for b in reply[offset + 4 : offset + 10])
        offset += (size + 3) & ~3
    if mac is None or mac == "00:00:00:00:00:00" or not state & _USABLE_STATES:
        return None
    return mac
