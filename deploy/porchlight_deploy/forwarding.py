"""IPv4 forwarding: a router must forward its guests' packets.

The installer writes /etc/sysctl.d/60-porchlight.conf (on at every boot) and,
on the running system, turns forwarding on now in the current network
namespace, recording the value it found so that a rollback or
`uninstall-router` puts back exactly what was there. With `--root DIR` only
the file is written (the target is not the running system), unless
`--live-sysctl` asks for the live change too (the tests: their own network
namespace).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .host import Host
from .ip_forward import PROC_IP_FORWARD, live_value, set_live
from .journal import Journal

log = logging.getLogger(__name__)

SYSCTL_DIR = "/etc/sysctl.d"
SYSCTL_FILE = f"{SYSCTL_DIR}/60-porchlight.conf"
NEIGH_FILE = f"{SYSCTL_DIR}/61-porchlight-neighbours.conf"  # only for a big venue
SYSCTL_TEXT = (
    "# Porchlight: the router forwards its guests' IPv4 packets (the agent's\n"
    "# nftables table decides which). Written by deploy/install-router;\n"
    "# deploy/uninstall-router removes it.\n"
    "net.ipv4.ip_forward=1\n"
)


def changes_live(host: Host) -> bool:
    """True when the installer also sets the running kernel's value."""
    return host.is_live or host.live_sysctl


def enable(host: Host, journal: Journal, neighbours: str | None = None) -> dict[str, Any]:
    """Write the sysctl files and turn forwarding on now; what to keep in the install record.

    `neighbours`: the big venue's neighbour-table sizes (router_config.neighbour_sysctl),
    applied at boot and, on the running system, now (best effort: they are the
    host's, and a container may not change them)."""
    keep: dict[str, Any] = {}
    if not host.path(SYSCTL_DIR).is_dir() and not journal.dry_run:
        keep["sysctl_dir_created"] = True
    journal.mkdir(SYSCTL_DIR)
    journal.write(SYSCTL_FILE, SYSCTL_TEXT.encode())
    if neighbours is not None:
        journal.write(NEIGH_FILE, neighbours.encode())
        if host.is_live and not journal.dry_run:
            host.run(["sysctl", "-q", "-p", NEIGH_FILE], timeout=10, check=False)
    if not changes_live(host):
        return keep
    old = live_value()
    if old != "1" and journal.note(f"turn on IPv4 forwarding now (net.ipv4.ip_forward {old} -> 1)"):
        journal.record("sysctl", name="net.ipv4.ip_forward", old=old)
        try:
            set_live("1")
        except OSError as exc:  # a read-only /proc/sys (a container): the file applies at boot
            log.warning("could not turn on IPv4 forwarding now: %s", exc)
        else:
            keep["ip_forward_before"] = old
    return keep


def restore_after_uninstall(before: str) -> bool:
    """Put forwarding back as the install found it; False if someone changed it since."""
    if live_value() != "1":
        return False  # not what the installer left: someone else's choice now
    set_live(before)
    return True


def checklist_line(host: Host) -> tuple[bool | None, str]:
    conf = host.path(SYSCTL_FILE).is_file()
    if not changes_live(host):
        detail = f"{SYSCTL_FILE} sets it at boot" if conf else f"{SYSCTL_FILE} missing"
        return None, detail
    if live_value() == "1":
        return True, "on" + ("" if conf else f" (but {SYSCTL_FILE} is missing: off after a reboot)")
    if not os.access(PROC_IP_FORWARD, os.W_OK):
        return False, (
            "off: guests cannot reach the internet, and /proc/sys is read-only here "
            "(a container?): turn it on where the network namespace is made"
        )
    return False, (
        "off: guests cannot reach the internet "
        f"(net.ipv4.ip_forward=1 in {SYSCTL_FILE} applies at the next boot; "
        "'sysctl -w net.ipv4.ip_forward=1' now)"
    )
