"""Many phones asking DHCP at once, played from one process (benchmarks/stadium.py --phones).

Runs inside a lab guest's namespace: one AF_PACKET socket on its eth0 sends
each phone's DISCOVER (its own MAC, the broadcast flag set so the answers come
back to this port), answers each OFFER with a REQUEST, and notes when the ACK
comes; a phone without an ACK 4 s after it last asked starts over with a new
DISCOVER, then after 8, 16 s (RFC 2131's back-off), and one NAKed starts over at
once, as phones do (dnsmasq without its ping check may offer one address to two
phones asking together: the second REQUEST gets "address in use"). Prints one
JSON object: phones, leased, distinct addresses, p50/p95/max seconds from the
first DISCOVER to the ACK, how many times phones started over and were NAKed.
"""

from __future__ import annotations

import hashlib
import json
import socket
import statistics
import sys
import threading
import time
from typing import Any

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

RETRY_S = 4.0  # RFC 2131: the first retransmission after about 4 s, then doubling
ETH_P_IP = 0x0800
SO_RCVBUFFORCE = 33  # socket.SO_RCVBUFFORCE is missing from some Pythons


def phone_mac(i: int) -> bytes:
    """Phone `i`'s MAC: random-looking, as phones' private (randomized) MACs are, and the
    same every run. Sequential MACs start dnsmasq's hash-chosen addresses side by side,
    so phones asking together were offered each other's addresses over and over."""
    return bytes([0x02]) + hashlib.blake2b(i.to_bytes(4, "big"), digest_size=5).digest()


def frame(i: int, kind: str, extra: list[Any] | None = None) -> bytes:
    hw = phone_mac(i)
    options = [("message-type", kind), *(extra or []), "end"]
    return bytes(
        Ether(src=hw, dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=hw + bytes(10), xid=i + 1, flags=0x8000)
        / DHCP(options=options)
    )


def _option(packet: Any, name: str) -> Any:
    for item in packet[DHCP].options:
        if isinstance(item, tuple) and item[0] == name:
            return item[1]
    return None


class Storm:
    def __init__(self, iface: str, phones: int, window: float) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
        self.sock.bind((iface, ETH_P_IP))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)  # root: past rmem_max
        self.sock.settimeout(0.2)
        self.phones, self.window = phones, window
        self.started: dict[int, float] = {}
        self.offered: set[int] = set()
        self.asked: dict[int, float] = {}  # when a phone last sent DISCOVER again
        self.retries = 0
        self.naks = 0
        self.tries: dict[int, int] = {}
        self.acked: dict[int, tuple[float, str]] = {}
        self.lock = threading.Lock()

    def _listen(self, until: float) -> None:
        while time.monotonic() < until and len(self.acked) < self.phones:
            try:
                data, address = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            if address[2] == socket.PACKET_OUTGOING or data[36:38] != b"\x00\x44":
                continue  # our own frames, or not to the DHCP client port (68)
            packet = Ether(data)
            if BOOTP not in packet or DHCP not in packet or packet[BOOTP].op != 2:
                continue
            i = packet[BOOTP].xid - 1
            kind = _option(packet, "message-type")
            if kind == 2 and i not in self.offered:  # OFFER -> REQUEST
                self.offered.add(i)
                server = _option(packet, "server_id")
                wanted = [("requested_addr", packet[BOOTP].yiaddr), ("server_id", server)]
                self.sock.send(frame(i, "request", wanted))
            elif kind == 6 and i not in self.acked:  # NAK: start over at once (RFC 2131 3.1)
                self.offered.discard(i)
                self.naks += 1
                self.sock.send(frame(i, "discover"))
            elif kind == 5 and i not in self.acked:  # ACK
                with self.lock:
                    self.acked[i] = (time.monotonic() - self.started[i], packet[BOOTP].yiaddr)

    def run(self, deadline: float) -> dict[str, Any]:
        listener = threading.Thread(target=self._listen, args=(time.monotonic() + deadline,))
        listener.start()
        gap = self.window / self.phones
        for i in range(self.phones):
            self.started[i] = time.monotonic()
            self.sock.send(frame(i, "discover"))
            time.sleep(gap)
        while listener.is_alive():
            listener.join(0.5)
            now = time.monotonic()
            for i in range(self.phones):
                tries = self.tries.get(i, 0)
                waited = now - self.asked.get(i, self.started[i])
                if i not in self.acked and waited > RETRY_S * 2**tries:
                    self.offered.discard(i)  # no ACK either: a phone starts over
                    self.asked[i], self.tries[i] = now, tries + 1
                    self.retries += 1
                    self.sock.send(frame(i, "discover"))
        waits = sorted(wait for wait, _ in self.acked.values())
        return {
            "phones": self.phones,
            "leased": len(waits),
            "addresses": len({address for _, address in self.acked.values()}),
            "dhcp_p50_s": statistics.median(waits) if waits else None,
            "dhcp_p95_s": waits[int(len(waits) * 0.95) - 1] if waits else None,
            "dhcp_max_s": waits[-1] if waits else None,
            "dhcp_retries": self.retries,
            "dhcp_naks": self.naks,
        }


if __name__ == "__main__":
    iface, phones, window = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(Storm(iface, phones, window).run(deadline=window + 30)))
