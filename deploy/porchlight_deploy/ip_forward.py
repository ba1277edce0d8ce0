"""The running kernel's IPv4 forwarding switch, in this network namespace.

forwarding.py decides when to turn it on; the journal puts it back on undo.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

# per network namespace: this is the namespace the installer runs in
PROC_IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def live_value() -> str:
    return PROC_IP_FORWARD.read_text().strip()


def set_live(value: str) -> None:
    """Write `value` ("0" or "1") to the running kernel unless it is already so."""
    if value not in ("0", "1"):
        raise ValueError(f"net.ipv4.ip_forward must be 0 or 1, not {value!r}")
    if live_value() == value:
        return
    PROC_IP_FORWARD.write_text(f"{value}\n")
    log.info("net.ipv4.ip_forward = %s", value)
