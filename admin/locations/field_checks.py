"""Single-field checks of the guest-page settings form.

Each takes the text a manager typed and returns the clean value, or raises
ValueError with the message to show them (in their language).
"""

from __future__ import annotations

import ipaddress
import re

from flask_babel import gettext as _

from porchlight import walled_garden

MAX_URL = 500
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_HTML = re.compile(r"<\s*[a-zA-Z!/?]|&[a-zA-Z]+;|&#\d+;")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def clean_text(value: str, limit: int, *, label: str) -> str:
    text = _CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    if _HTML.search(text):
        raise ValueError(_("%(label)s: HTML is not allowed here; write plain text.", label=label))
    if len(text) > limit:
        raise ValueError(
            _("%(label)s: at most %(n)d characters (now %(m)d).", label=label, n=limit, m=len(text))
        )
    return text


def clean_color(value: str, *, label: str) -> str:
    match = _HEX.match((value or "").strip())
    if not match:
        raise ValueError(_("%(label)s: use a color like #0f766e.", label=label))
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits


def clean_walled_entry(entry: str, *, policy: bool = True) -> tuple[str, str]:
    """One walled-garden line -> ("domain", "example.com") or ("cidr", "1.2.3.0/24").

    With `policy` (the walled garden itself) the agent's rules apply too: no public
    suffix, no private, local or multicast range, nothing wider than a /16.
    """
    kind, value = _walled_syntax(entry)
    if policy:
        try:
            if kind == "domain":
                walled_garden.clean_domain(value)
            else:
                walled_garden.clean_cidr(value)
        except walled_garden.WalledGardenError as exc:
            raise ValueError(_walled_refusal(exc, entry.strip()[:80])) from exc
    return kind, value


def _walled_refusal(exc: walled_garden.WalledGardenError, raw: str) -> str:
    if exc.kind == "public_suffix":
        return _(
            "“%(v)s” is a public suffix: it would open every site under it. "
            "Name the site, like shop.%(v)s.",
            v=raw,
        )
    if exc.kind == "too_wide":
        return _("“%(v)s” is wider than a /%(n)d: name a smaller range.", v=raw, n=exc.prefix)
    if exc.kind == "not_public":
        return _("“%(v)s” is a private, local or multicast range, not the internet.", v=raw)
    return _("“%(v)s” is not a domain name (like example.com).", v=raw)


def _walled_syntax(entry: str) -> tuple[str, str]:
    raw = entry.strip()
    value = raw.lower().rstrip(".")
    if "://" in value or "/" in value and not re.match(r"^[0-9a-f:.]+/\d+$", value):
        raise ValueError(
            _("“%(v)s” is a web address; write only the domain, like example.com.", v=raw)
        )
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        pass
    else:
        return "cidr", str(net)
    if value.startswith("*."):
        value = value[2:]
    value = value.lstrip(".")
    try:
        ascii_name = value.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.split(".")
    if (
        len(labels) < 2
        or len(ascii_name) > 253
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValueError(_("“%(v)s” is not a domain name (like example.com).", v=raw[:80]))
    return "domain", ascii_name


MAX_PORTS = 16


def clean_ports(value: str, *, label: str) -> list[int]:
    """'22, 8443' -> [22, 8443]: ports on the router a location opens to its guests."""
    ports: list[int] = []
    for part in re.split(r"[\s,;]+", (value or "").strip()):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 65535:
            raise ValueError(
                _("%(label)s: “%(v)s” is not a port (1 to 65535).", label=label, v=part[:20])
            )
        if int(part) not in ports:
            ports.append(int(part))
    if len(ports) > MAX_PORTS:
        raise ValueError(_("%(label)s: at most %(n)d ports.", label=label, n=MAX_PORTS))
    return sorted(ports)


def clean_url(value: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_URL or _CONTROL.search(text) or " " in text:
        raise ValueError(_("Enter a web address like https://example.com/offers."))
    match = re.match(r"^(https?)://([^/?#@]+)([/?#].*)?$", text, re.IGNORECASE)
    if not match:
        raise ValueError(_("Enter a web address starting with https:// (or http://)."))
    host = match.group(2).split(":")[0]
    try:
        clean_walled_entry(host, policy=False)
    except ValueError as exc:
        raise ValueError(_("The address has no valid host name.")) from exc
    return text


def clean_number(value: str, *, label: str, integer: bool = True) -> float:
    text = (value or "").strip().replace(",", ".")
    try:
        number = float(int(text)) if integer else float(text)
    except ValueError as exc:
        kind = _("a whole number") if integer else _("a number")
        raise ValueError(_("%(label)s: enter %(kind)s.", label=label, kind=kind)) from exc
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(_("%(label)s: enter a number.", label=label))
    return number
