"""The location config (docs/protocols.md section 3): default and validation.

`validate_config` checks only what the agent acts on (session settings, walled
garden, vouchers) and that the rest has the right shape; the portal reads the
`portal` block. It returns a cleaned copy or raises `ConfigError`.
"""

from __future__ import annotations

import copy
from typing import Any

from porchlight import walled_garden
from porchlight.errors import PorchlightError
from porchlight.events import parse_time

DEFAULT_CONFIG: dict[str, Any] = {
    "location": {"id": None, "name": "Porchlight Wi-Fi", "country": "VN", "timezone": "UTC"},
    "portal": {
        "venue_name": "Wi-Fi",
        "logo_url": None,
        "colors": {"primary": "#0f766e", "background": "#f8fafc"},
        "welcome": {
            "vi": "Chào mừng! Vui lòng đăng nhập để dùng Wi-Fi.",
            "th": "ยินดีต้อนรับ! กรุณาเข้าสู่ระบบเพื่อใช้ Wi-Fi",
            "en": "Welcome! Please sign in to use the Wi-Fi.",
        },
        "channels": ["form", "click"],
        "fields": {"name": "required", "phone": "required", "email": "optional"},
        "consents": [
            {
                "purpose": "wifi",
                "required": True,
                "version": "wifi-v1",
                "text": {
                    "vi": "Tôi đồng ý với điều khoản sử dụng Wi-Fi.",
                    "th": "ฉันยอมรับเงื่อนไขการใช้งาน Wi-Fi",
                    "en": "I accept the Wi-Fi terms of use.",
                },
            },
            {
                "purpose": "marketing",
                "required": False,
                "version": "mkt-v1",
                "text": {
                    "vi": "Tôi muốn nhận ưu đãi từ cửa hàng.",
                    "th": "ฉันต้องการรับข้อเสนอจากร้าน",
                    "en": "Send me offers from this venue.",
                },
            },
        ],
        "success_url": None,
    },
    "tags": ["wifi"],
    "session": {
        "length_seconds": 3600,
        "idle_seconds": 900,
        "remember_seconds": 604800,
        "bandwidth_kbps": None,
    },
    "walled_garden": {"domains": [], "cidrs": []},
    "lan": {"router_tcp_ports": [], "router_udp_ports": [], "client_isolation": True},
    "vouchers": [],
}

MAX_SECONDS = 366 * 86400
# ports on the router a location may open to guests: not DHCP/DNS/portal (always open)
MAX_ROUTER_PORTS = 16


class ConfigError(PorchlightError):
    """A location config the agent cannot apply."""


def _seconds(block: dict[str, Any], key: str, *, allow_zero: bool = False) -> int:
    value = block.get(key)
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_SECONDS:
        raise ConfigError(f"session.{key}: expected whole seconds between {low} and {MAX_SECONDS}")
    return value


def _voucher(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("code"), str):
        raise ConfigError("vouchers: each voucher needs a code")
    code = item["code"].strip()
    if not 1 <= len(code) <= 64:
        raise ConfigError("vouchers: a code is 1-64 characters")
    clean: dict[str, Any] = {"code": code}
    for key, default in (("duration_seconds", None), ("max_uses", None), ("max_devices", None)):
        value = item.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"vouchers: {key} of {code!r} must be a whole number")
        if value is not None and value < 1:
            raise ConfigError(f"vouchers: {key} of {code!r} must be at least 1")
        clean[key] = value
    expires = item.get("expires_at")
    clean["expires_at"] = None if expires is None else parse_time(expires, "expires_at").isoformat()
    return clean


def _lan(block: Any) -> dict[str, Any]:
    """`lan`: router ports opened to guests, and client isolation (on unless set false)."""
    block = {} if block is None else block
    if not isinstance(block, dict):
        raise ConfigError("lan: expected an object")
    clean: dict[str, Any] = {}
    for key in ("router_tcp_ports", "router_udp_ports"):
        ports = block.get(key) or []
        if not isinstance(ports, list) or len(ports) > MAX_ROUTER_PORTS:
            raise ConfigError(f"lan.{key}: expected a list of at most {MAX_ROUTER_PORTS} ports")
        for port in ports:
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ConfigError(f"lan.{key}: {str(port)[:20]!r} is not a port (1-65535)")
        clean[key] = sorted(set(ports))
    isolation = block.get("client_isolation", True)
    if not isinstance(isolation, bool):
        raise ConfigError("lan.client_isolation: expected true or false")
    clean["client_isolation"] = isolation
    return clean


def walled_domains(config: dict[str, Any]) -> list[str]:
    """The location's walled-garden domains plus those its social login channels need."""
    domains = list(config["walled_garden"]["domains"])
    channels = (config.get("portal") or {}).get("channels")
    domains += [d for d in walled_garden.social_domains(channels) if d not in domains]
    return domains


def validate_config(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ConfigError("config: expected a JSON object")
    clean = copy.deepcopy(config)
    for key in ("location", "portal"):
        if not isinstance(clean.get(key, {}), dict):
            raise ConfigError(f"{key}: expected an object")
    session = clean.get("session")
    if not isinstance(session, dict):
        raise ConfigError("session: expected an object")
    bandwidth = session.get("bandwidth_kbps")
    if bandwidth is not None and (
        isinstance(bandwidth, bool) or not isinstance(bandwidth, int) or not 8 <= bandwidth <= 10**7
    ):
        raise ConfigError("session.bandwidth_kbps: expected null or 8-10000000")
    clean["session"] = {
        "length_seconds": _seconds(session, "length_seconds"),
        "idle_seconds": _seconds(session, "idle_seconds", allow_zero=True),
        "remember_seconds": _seconds(session, "remember_seconds", allow_zero=True),
        "bandwidth_kbps": bandwidth,
    }
    garden = clean.get("walled_garden") or {}
    if not isinstance(garden, dict):
        raise ConfigError("walled_garden: expected an object")
    domains = garden.get("domains") or []
    cidrs = garden.get("cidrs") or []
    if not isinstance(domains, list) or not isinstance(cidrs, list):
        raise ConfigError("walled_garden: domains and cidrs are lists")
    clean_domains, clean_cidrs = [], []
    try:
        clean_domains = [walled_garden.clean_domain(d) for d in domains]
    except walled_garden.WalledGardenError as exc:
        raise ConfigError(f"walled_garden.domains: {exc}") from exc
    try:
        clean_cidrs = [walled_garden.clean_cidr(c) for c in cidrs]
    except walled_garden.WalledGardenError as exc:
        raise ConfigError(f"walled_garden.cidrs: {exc}") from exc
    clean["walled_garden"] = {"domains": clean_domains, "cidrs": clean_cidrs}
    clean["lan"] = _lan(clean.get("lan"))
    vouchers = clean.get("vouchers") or []
    if not isinstance(vouchers, list):
        raise ConfigError("vouchers: expected a list")
    clean["vouchers"] = [_voucher(item) for item in vouchers]
    if not isinstance(clean.get("tags", []), list):
        raise ConfigError("tags: expected a list")
    return clean


def dnsmasq_snippet(domains: list[str]) -> str:
    """dnsmasq lines that put the walled-garden domains' addresses into walled4/6."""
    lines = ["# written by porchlight agent: walled-garden domains"]
    target = "4#inet#porchlight#walled4,6#inet#porchlight#walled6"
    lines.extend(f"nftset=/{domain}/{target}" for domain in domains)
    return "\n".join(lines) + "\n"
