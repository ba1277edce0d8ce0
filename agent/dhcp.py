"""DHCP adapter: hostname and vendor class from guests' DHCP requests.

A raw AF_PACKET socket on the LAN interface with a classic BPF filter (IPv4
UDP to port 67, so the kernel drops everything else before Python sees it);
packets are decoded with scapy's BOOTP/DHCP layers only — importing
`scapy.all` would cost ~95 MB on a small router.
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


def parse(frame: bytes) -> tuple[str, str | None, str | None, str | None] | None:
    """(mac, requested/current ip, hostname, vendor class) from an Ethernet DHCP frame."""
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.l2 import Ether

    try:
        packet = Ether(frame)
    except Exception:  # noqa: BLE001 - a malformed frame is not our problem
        return None
    if BOOTP not in packet or DHCP not in packet:
        return None
    bootp = packet[BOOTP]
    mac = ":".join(f"{b:02x}" for b in bytes(bootp.chaddr)[:6])
    options = {
        opt[0]: opt[1] for opt in packet[DHCP].options if isinstance(opt, tuple) and len(opt) > 1
    }
    ip = options.get("requested_addr") or (bootp.ciaddr if bootp.ciaddr != "0.0.0.0" else None)
    return mac, ip, _text(options.get("hostname")), _text(options.get("vendor_class_id"))


def warm_up() -> None:
    """Load and exercise scapy's DHCP decoding now, so the first guest is not kept waiting."""
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    sample = (
        Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=b"\x02\x00\x00\x00\x00\x01")
        / DHCP(options=[("message-type", "request"), ("hostname", b"warm-up"), "end"])
    )
    parse(bytes(sample))


class DhcpWatcher:
    def __init__(self, lan: str, on_request: DhcpCallback) -> None:
        self.lan = lan
        self.on_request = on_request
        self._sock: socket.socket | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        warm_up()
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
