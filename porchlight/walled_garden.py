"""What a location may open before login (the walled garden), and what social logins need.

One check shared by the agent's config validation and the admin's settings
form (so it lives in the core package, which both import), so a typo is
refused for the same reasons in both places:

- a domain must be a registrable name or below one, never a public suffix
  (``com.vn``, ``co.uk``, ``github.io``: the Public Suffix List, ICANN and
  private sections, from the `publicsuffixlist` package, which ships the list
  and never fetches it);
- an address range must be public: private (RFC 1918, CGNAT, ULA), loopback,
  link-local, multicast, unspecified and reserved ranges are refused, and so is
  anything wider than a /16 (IPv4) or a /32 (IPv6, one provider's block).

`SOCIAL_DOMAINS` are the hosts a provider's login page needs in the guest's
browser (its login and consent pages, their CDN, the certificate status
servers); the agent adds them by itself when the location turns the channel on.
"""

from __future__ import annotations

import functools
import ipaddress
import re

MIN_PREFIX = {4: 16, 6: 32}

# Ranges that are never "the internet" (IPv4 and IPv6), beyond ipaddress's own flags.
_NOT_PUBLIC = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    )
]

SOCIAL_DOMAINS: dict[str, tuple[str, ...]] = {
    "google": (
        "accounts.google.com",
        "accounts.youtube.com",
        "ssl.gstatic.com",
        "www.gstatic.com",
        "fonts.gstatic.com",
        "fonts.googleapis.com",
        "pki.goog",
    ),
    "facebook": ("facebook.com", "fbcdn.net", "facebook.net", "ocsp.digicert.com"),
    "zalo": ("zalo.me", "zaloapp.com", "zadn.vn", "zdn.vn"),
    # LINE Login's pages (access.line.me), its static files and images
    # (*.line-scdn.net) and the hand-over to the LINE app (line.me/R/...).
    "line": ("access.line.me", "line.me", "line-scdn.net", "line-apps.com"),
}

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


class WalledGardenError(ValueError):
    """An entry the walled garden refuses; the message names the entry.

    `kind` says why, for callers that word it in the reader's language:
    ``not_domain``, ``public_suffix``, ``not_cidr``, ``not_public``, ``too_wide``
    (then `prefix` is the widest allowed prefix length).
    """

    def __init__(self, message: str, kind: str, prefix: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.prefix = prefix


@functools.cache
def _psl():  # type: ignore[no-untyped-def]
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def clean_domain(value: object) -> str:
    """A walled-garden domain, lower-cased without the trailing dot, or WalledGardenError."""
    text = value.strip().lower().rstrip(".") if isinstance(value, str) else ""
    shown = str(value)[:60]
    if not _DOMAIN.match(text):
        raise WalledGardenError(f"{shown!r} is not a domain name", "not_domain")
    if "." not in text or _psl().privatesuffix(text) is None:
        raise WalledGardenError(
            f"{shown!r} is a public suffix (it would open every site under it): "
            "name the site, e.g. example.com",
            "public_suffix",
        )
    return text


def clean_cidr(value: object) -> str:
    """A walled-garden address or range as text, or WalledGardenError."""
    shown = str(value)[:60]
    try:
        net = ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError as exc:
        raise WalledGardenError(f"{shown!r} is not an IP address or range", "not_cidr") from exc
    kind = _not_public(net)
    if kind:
        raise WalledGardenError(f"{shown!r} is {kind}, not the internet", "not_public")
    if net.prefixlen < MIN_PREFIX[net.version]:
        raise WalledGardenError(
            f"{shown!r} is wider than a /{MIN_PREFIX[net.version]}: name a smaller range",
            "too_wide",
            MIN_PREFIX[net.version],
        )
    return str(net)


def _not_public(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str | None:
    if net.is_loopback:
        return "a loopback range"
    if net.is_link_local:
        return "a link-local range"
    if net.is_multicast:
        return "a multicast range"
    if net.is_unspecified:
        return "the unspecified address"
    if any(net.version == n.version and net.subnet_of(n) for n in _NOT_PUBLIC):  # type: ignore[arg-type]
        return "a private range"
    if net.is_reserved:
        return "a reserved range"
    return None


def social_domains(channels: object) -> list[str]:
    """The domains the location's social login channels need, in a stable order."""
    found: list[str] = []
    for channel in channels if isinstance(channels, list) else []:
        for domain in SOCIAL_DOMAINS.get(str(channel), ()):
            if domain not in found:
                found.append(domain)
    return found
