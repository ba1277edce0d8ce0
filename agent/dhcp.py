"""DHCP adapter: hostname and vendor class from guests' DHCP requests.

A raw AF_PACKET socket on the LAN interface with a classic BPF filter (IPv4
UDP to port 67, so the kernel drops everything else before Python sees it);
the few BOOTP fields and DHCP options needed (RFC 2131/2132: chaddr, ciaddr,
options 50, 12 and 60) are read with `struct` — scapy's DHCP layers alone cost
the agent ~45 MB of RSS (issue 18).
"""

from __future__ import annotations

import ctypes
import logging
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

DhcpCallback = Callable[[str, str | None, str | None, str | None], None]  # mac, ip, host, vendor

ETH_P_ALL = 0x0003
SO_ATTACH_FILTER = 26
# tcpdump -dd 'ip and udp dst port 67'
_BPF = [
    (0x28, 0, 0, 0x0000000C),
    (0x15, 0, 8, 0x00000800),
    (0x30, 0, 0, 0x00000017),
    (0x15, 0, 6, 0x00000011),
    (0x28, 0, 0, 0x00000014),
    (0x45, 4, 0, 0x00001FFF),
    (0xB1, 0, 0, 0x0000000E),
    (0x48, 0, 0, 0x00000010),
    (0x15, 0, 1, 0x00000043),
    (0x06, 0, 0, 0x00040000),
    (0x06, 0, 0, 0x00000000),
]


def _attach_filter(sock: socket.socket) -> None:
    code = b"".join(struct.pack("HBBI", *ins) for ins in _BPF)
    buffer = ctypes.create_string_buffer(code)
    prog = struct.pack("HL", len(_BPF), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = "".join(ch for ch in value if ch.isprintable()).strip()
    return value[:200] or None


_BOOTP = struct.Struct("!BBBB4xHH4s4s4s4s16s")  # op .. chaddr (sname/file follow)
_BOOTP_SIZE = 236
_MAGIC = b"\x63\x82\x53\x63"
_OPT_REQUESTED, _OPT_HOSTNAME, _OPT_VENDOR, _OPT_PAD, _OPT_END = 50, 12, 60, 0, 255


def _options(data: bytes) -> dict[int, bytes]:
    """DHCP options (code -> value) up to the end option; a truncated one ends the list."""
    found: dict[int, bytes] = {}
    offset = 0
    while offset < len(data):
        code = data[offset]
        if code == _OPT_END:
            break
        if code == _OPT_PAD:
            offset += 1
            continue
        if offset + 2 > len(data) or offset + 2 + data[offset + 1] > len(data):
            break
        length = data[offset + 1]
        found.setdefault(code, data[offset + 2 : offset + 2 + length])
        offset += 2 + length
    return found


def parse(frame: bytes) -> tuple[str, str | None, str | None, str | None] | None:
    """(mac, requested/current ip, hostname, vendor class) from an Ethernet DHCP frame."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00" or frame[23] != socket.IPPROTO_UDP:
        return None
    udp = 14 + (frame[14] & 0x0F) * 4
    bootp = udp + 8
    if len(frame) < bootp + _BOOTP_SIZE + len(_MAGIC):
        return None
    sport, dport = struct.unpack_from("!HH", frame, udp)
    if 67 not in (sport, dport) and 68 not in (sport, dport):
        return None
    op, htype, hlen, _hops, _secs, _flags, ciaddr, _yi, _si, _gi, chaddr = _BOOTP.unpack_from(
        frame, bootp
    )
    if op not in (1, 2) or frame[bootp + _BOOTP_SIZE : bootp + _BOOTP_SIZE + 4] != _MAGIC:
        return None
    options = _options(frame[bootp + _BOOTP_SIZE + 4 :])
    mac = chaddr[:6].hex(":")
    requested = options.get(_OPT_REQUESTED, b"")
    ip = socket.inet_ntoa(requested) if len(requested) == 4 else None
    if ip is None and ciaddr != b"\0\0\0\0":
        ip = socket.inet_ntoa(ciaddr)
    return mac, ip, _text(options.get(_OPT_HOSTNAME)), _text(options.get(_OPT_VENDOR))


class DhcpWatcher:
    def __init__(self, lan: str, on_request: DhcpCallback) -> None:
        self.lan = lan
        self.on_request = on_request
        self._sock: socket.socket | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        _attach_filter(sock)
        sock.bind((self.lan, ETH_P_ALL))
        sock.settimeout(1.0)
        self._sock = sock
        threading.Thread(target=self._loop, name="dhcp", daemon=True).start()

    def _loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                frame = self._sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                log.exception("DHCP sniffing failed")
                self._stop.wait(1.0)
                continue
            found = parse(frame)
            if found is None:
                continue
            try:
                self.on_request(*found)
            except Exception:  # noqa: BLE001 - keep sniffing
                log.exception("DHCP callback failed")

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
