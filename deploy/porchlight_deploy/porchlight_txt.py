"""porchlight.txt: the file an installer edits on the image's FAT partition.

``key = value`` lines and ``#`` comments. Read as Windows Notepad may save
it: a UTF-8 byte-order mark, UTF-16 ("Unicode"), CRLF line ends, spaces
around ``=``, keys in any case. Whatever cannot be read is a `TxtError`
naming the line, written back into the same file by first boot. The router
writes its answer (``status`` and ``message``) at the end of the file and
erases the enrollment code once it has been used.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass

SETTINGS = ("admin_url", "code", "location", "lan", "wan", "lan_address", "allow_plain_http")
WRITTEN_BY_ROUTER = ("status", "message")
IFACE = re.compile(r"^[A-Za-z0-9_.@-]{1,15}$")
MAX_BYTES = 64 * 1024

TEMPLATE = """\
# Porchlight router setup
#
# Either: put your admin's address and an enrollment code below (the admin's
# Routers page, "Add router"), save, put the card back in the router and
# switch it on. Or: leave the code empty and adopt the router from the
# admin's Routers page once it is switched on.
#
# The router writes what happened at the end of this file (status, message).

admin_url = {admin_url}
code =

# Optional: the location's name (as shown in the admin), the port names
# (found by the router when empty: the WAN is the port where the internet
# box answers DHCP), and the guest network's address.
location =
lan =
wan =
lan_address = 10.42.0.1/24
"""


class TxtError(Exception):
    """porchlight.txt cannot be used as it is; the message says what to fix."""


@dataclass(frozen=True)
class Setup:
    admin_url: str | None
    code: str | None
    location: str | None = None
    lan: str | None = None
    wan: str | None = None
    lan_address: ipaddress.IPv4Interface = ipaddress.IPv4Interface("10.42.0.1/24")
    allow_plain_http: bool = False


def decode(data: bytes) -> str:
    """The file's text: UTF-8 with or without a BOM, or UTF-16 with a BOM."""
    if len(data) > MAX_BYTES:
        raise TxtError(f"porchlight.txt is {len(data)} bytes; it should be a short text file")
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TxtError(
            "porchlight.txt is not text: save it as UTF-8 (Notepad: Save as, Encoding UTF-8)"
        ) from exc
    if "\x00" in text:
        raise TxtError("porchlight.txt is not text: it contains NUL bytes")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_lines(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().lower().replace(" ", "_").replace("-", "_")
        if not sep:
            raise TxtError(f"porchlight.txt line {number}: '{line[:40]}' is not 'name = value'")
        if key in WRITTEN_BY_ROUTER:
            continue
        if key not in SETTINGS:
            raise TxtError(
                f"porchlight.txt line {number}: unknown setting '{key[:40]}' "
                f"(known: {', '.join(SETTINGS)})"
            )
        values[key] = value.strip().strip('"').strip()
    return values


def check_url(url: str, allow_http: bool) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TxtError(f"admin_url '{url[:80]}' is not a web address like https://admin.example")
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme == "http" and not (allow_http or local):
        raise TxtError(
            f"admin_url '{url[:80]}' is plain http: use https:// "
            "(or allow_plain_http = yes on a trusted lab network)"
        )
    return url.rstrip("/")


def parse(data: bytes, baked_admin_url: str | None = None) -> Setup:
    """The settings in porchlight.txt's bytes, checked; TxtError says what is wrong."""
    values = parse_lines(decode(data))
    allow = values.get("allow_plain_http", "").lower() in ("yes", "true", "1", "on")
    url = values.get("admin_url") or baked_admin_url
    code = values.get("code") or None
    if code and not url:
        raise TxtError("porchlight.txt has a code but no admin_url: add the admin's address")
    for key in ("lan", "wan"):
        name = values.get(key)
        if name and not IFACE.match(name):
            raise TxtError(f"{key} '{name[:40]}' is not a network port name (e.g. eth0, enp1s0)")
    if values.get("lan") and values.get("lan") == values.get("wan"):
        raise TxtError("lan and wan must be different ports")
    address = ipaddress.IPv4Interface("10.42.0.1/24")
    if values.get("lan_address"):
        try:
            address = ipaddress.IPv4Interface(values["lan_address"])
        except ValueError as exc:
            raise TxtError(
                f"lan_address '{values['lan_address'][:40]}' is not like 10.42.0.1/24"
            ) from exc
        if address.network.prefixlen > 28 or address.ip == address.network.network_address:
            raise TxtError(f"lan_address {address} leaves no room for guests (use a /24)")
    if code and len(code) > 40:
        raise TxtError("the code is too long: copy it from the admin's Routers page")
    return Setup(
        admin_url=check_url(url, allow) if url else None,
        code=code,
        location=(values.get("location") or None),
        lan=values.get("lan") or None,
        wan=values.get("wan") or None,
        lan_address=address,
        allow_plain_http=allow,
    )


def rewrite(data: bytes, status: str, message: str, erase_code: bool) -> bytes:
    """porchlight.txt with the router's answer at its end (and the code erased).

    The installer's own lines are kept as they were; undecodable input is
    replaced by the template so the answer can still be read."""
    try:
        text = decode(data)
    except TxtError:
        text = TEMPLATE.format(admin_url="")
    kept = []
    for line in text.split("\n"):
        key = line.partition("=")[0].strip().lower()
        if key in WRITTEN_BY_ROUTER or line.startswith("# Written by the router"):
            continue
        if erase_code and key == "code" and "=" in line:
            line = "code ="
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    message = " ".join(message.split())
    kept += ["", "# Written by the router at its last start:", f"status = {status}"]
    kept.append(f"message = {message}")
    return ("\r\n".join(kept) + "\r\n").encode()
