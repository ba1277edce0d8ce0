"""The gate's table read straight from the kernel over netlink: rules per chain, set elements.

The reconcile reads the table every round. Through `nft` (binary or
libnftables) that costs ~0.6 CPU-s and ~3 MB of JSON at 10,000 guests, and nft
starts its whole fetch again whenever the ruleset changes meanwhile — so with
logins every few milliseconds (each one adds elements) a listing may take many
seconds. Netlink dumps instead: NFT_MSG_GETRULE for the rule count per chain
(``nft flush table`` leaves sets and chains but no rules; ~1 ms) and
NFT_MSG_GETSETELEM per hash set (key, seconds left, counter). A dump that
crosses a login is not started again; the reconcile leaves alone what the gate
changed meanwhile (gate_kernel.py). Interval sets (walled garden, CIDRs) are
few elements and stay with `nft`, which turns start/end pairs into prefixes.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETRULE, NFT_MSG_GETSETELEM = 7, 13
NFTA_RULE_TABLE, NFTA_RULE_CHAIN = 1, 2
NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_ELEMENTS = 1, 2, 3
NFTA_LIST_ELEM = 1
NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_EXPIRATION, NFTA_SET_ELEM_EXPR = 1, 5, 7
NFTA_SET_ELEM_EXPRESSIONS = 11
NFTA_DATA_VALUE = 1
NFTA_EXPR_NAME, NFTA_EXPR_DATA = 1, 2
NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS = 1, 2
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
FAMILIES = {"inet": 1, "ip": 2, "arp": 3, "netdev": 5, "bridge": 7, "ip6": 10}
# how each hash set's key reads, as nft lists it ("mac . ip" for the concatenation)
KEY_TYPES = {
    "allowed": "mac",
    "trusted": "mac",
    "blocked": "mac",
    "rx4": "ipv4",
    "bound4": "mac_ipv4",
}
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
_NFGEN = struct.Struct("=BBH")  # nfgenmsg: family, version, resource id
_ATTR = struct.Struct("=HH")
_BE64 = struct.Struct(">Q")


@dataclass(slots=True)
class SetElement:
    timeout: int | None = None  # seconds remaining (``expires``), None without timeout
    packets: int = 0
    bytes: int = 0


class NetlinkUnavailable(OSError):
    """The kernel would not answer (no netlink for nftables here, no permission)."""


def _attr(kind: int, value: bytes) -> bytes:
    body = _ATTR.pack(_ATTR.size + len(value), kind) + value
    return body + b"\0" * (-len(body) % 4)


def _attrs(data: bytes, offset: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
    """(type without flags, payload) of each netlink attribute in data[offset:end]."""
    end = len(data) if end is None else end
    while offset + _ATTR.size <= end:
        length, kind = _ATTR.unpack_from(data, offset)
        if length < _ATTR.size:
            return
        yield kind & 0x3FFF, data[offset + _ATTR.size : offset + length]
        offset += (length + 3) & ~3


def _dump(kind: int, family: str, attrs: bytes, timeout: float) -> Iterator[bytes]:
    """The payloads (after nfgenmsg) of one nftables dump; ENOENT ends it with nothing."""
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    except OSError as exc:
        raise NetlinkUnavailable(f"netlink: {exc.strerror or exc}") from exc
    with sock:
        sock.settimeout(timeout)
        sock.bind((0, 0))
        body = _NFGEN.pack(FAMILIES[family], 0, 0) + attrs
        msg_type = (NFNL_SUBSYS_NFTABLES << 8) | kind
        header = _HEADER.pack(_HEADER.size + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
        sock.send(header + body)
        while True:
            data = sock.recv(1 << 20)
            offset = 0
            while offset + _HEADER.size <= len(data):
                length, msg_type, _flags, _seq, _port = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    raise NetlinkUnavailable("netlink: a malformed answer")
                start, offset = offset, offset + ((length + 3) & ~3)
                if msg_type == NLMSG_DONE:
                    return
                if msg_type == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", data, start + _HEADER.size)[0]
                    if code in (0, errno.ENOENT):
                        return
                    raise NetlinkUnavailable(f"netlink: {os.strerror(code)}")
                yield data[start + _HEADER.size + _NFGEN.size : start + length]


def rule_counts(family: str, table: str, timeout: float = 5.0) -> dict[str, int]:
    """{chain: rules} for the chains of `table` that hold rules ({}: none, or no table)."""
    counts: dict[str, int] = {}
    attrs = _attr(NFTA_RULE_TABLE, table.encode() + b"\0")
    for payload in _dump(NFT_MSG_GETRULE, family, attrs, timeout):
        for kind, value in _attrs(payload):
            if kind == NFTA_RULE_CHAIN:
                chain = value.rstrip(b"\0").decode()
                counts[chain] = counts.get(chain, 0) + 1
    return counts


def _key(value: bytes, key_type: str) -> str:
    if key_type == "mac":
        return value[:6].hex(":")
    if key_type == "ipv4":
        return socket.inet_ntoa(value[:4])
    # a concatenation: each field in 4-byte registers (MAC: 6 bytes + 2 padding)
    return f"{value[:6].hex(':')} . {socket.inet_ntoa(value[8:12])}"


def _counter(data: bytes, element: SetElement) -> None:
    """Fold one expression (NFTA_EXPR_NAME, NFTA_EXPR_DATA) into `element` if a counter."""
    name, values = b"", b""
    for kind, value in _attrs(data):
        if kind == NFTA_EXPR_NAME:
            name = value
        elif kind == NFTA_EXPR_DATA:
            values = value
    if name.rstrip(b"\0") != b"counter":
        return
    for kind, value in _attrs(values):
        if kind == NFTA_COUNTER_BYTES:
            element.bytes = _BE64.unpack_from(value)[0]
        elif kind == NFTA_COUNTER_PACKETS:
            element.packets = _BE64.unpack_from(value)[0]


def _element(raw: bytes, key_type: str) -> tuple[str, SetElement] | None:
    """One NFTA_LIST_ELEM: its key, seconds left and counter (a hot loop: ~30,000 a round)."""
    key, element = None, SetElement()
    offset, end, unpack = 0, len(raw), _ATTR.unpack_from
    while offset + 4 <= end:
        length, kind = unpack(raw, offset)
        if length < 4:
            break
        kind &= 0x3FFF
        if kind == NFTA_SET_ELEM_KEY:  # nested: NFTA_DATA_VALUE first
            inner, _value_kind = unpack(raw, offset + 4)
            key = _key(raw[offset + 8 : offset + 4 + inner], key_type)
        elif kind == NFTA_SET_ELEM_EXPIRATION:
            element.timeout = _BE64.unpack_from(raw, offset + 4)[0] // 1000
        elif kind == NFTA_SET_ELEM_EXPR:
            _counter(raw[offset + 4 : offset + length], element)
        elif kind == NFTA_SET_ELEM_EXPRESSIONS:
            for _list, expr in _attrs(raw, offset + 4, offset + length):
                _counter(expr, element)
        offset += (length + 3) & ~3
    return None if key is None else (key, element)


def set_elements(
    family: str, table: str, name: str, timeout: float = 10.0
) -> dict[str, SetElement]:
    """The elements of hash set `name` (a `KEY_TYPES` set): key -> seconds left, counter."""
    key_type = KEY_TYPES[name]
    attrs = _attr(NFTA_SET_ELEM_LIST_TABLE, table.encode() + b"\0")
    attrs += _attr(NFTA_SET_ELEM_LIST_SET, name.encode() + b"\0")
    found: dict[str, SetElement] = {}
    for payload in _dump(NFT_MSG_GETSETELEM, family, attrs, timeout):
        for kind, value in _attrs(payload):
            if kind != NFTA_SET_ELEM_LIST_ELEMENTS:
                continue
            for _list, raw in _attrs(value):
                item = _element(raw, key_type)
                if item is not None:
                    found[item[0]] = item[1]
        time.sleep(0)  # a login's thread may run now (this loop holds the GIL otherwise)
    return found
