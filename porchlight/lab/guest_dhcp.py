"""DHCP in a guest namespace with ``busybox udhcpc``, as a phone would.

udhcpc calls a hook script with the lease in its environment; the lab writes
one per guest that configures the address, default route and the guest's own
resolv.conf (``/etc/netns/NS/resolv.conf``, never the host's), and keeps the
lease (option 114 included) in a file the lab and tests can read.
"""

from __future__ import annotations

from pathlib import Path

from porchlight.lab import topology
from porchlight.lab.commands import in_netns, run

HOOK = """\
#!/bin/sh
# udhcpc hook for lab guest {netns} (written by 'porchlight lab up')
RESOLV={resolv}
LEASE={lease}
case "$1" in
    deconfig)
        ip addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${{mask:-24}}" dev "$interface"
        if [ -n "$router" ]; then
            ip route replace default via "${{router%% *}}" dev "$interface"
        fi
        # in place, not by rename: a shell already inside the namespace has
        # this very file bind-mounted as its resolver configuration
        for server in $dns; do echo "nameserver $server"; done > "$RESOLV"
        env | grep -E '^(interface|ip|mask|subnet|router|dns|domain|serverid|lease|opt[0-9]+)=' \\
            | sort > "$LEASE.new"
        mv "$LEASE.new" "$LEASE"
        ;;
esac
exit 0
"""


def hook_path(state_dir: Path, netns: str) -> Path:
    return state_dir / f"udhcpc-{netns}.sh"


def lease_path(state_dir: Path, netns: str) -> Path:
    return state_dir / f"lease-{netns}.env"


def write_hook(state_dir: Path, netns: str) -> Path:
    path = hook_path(state_dir, netns)
    path.write_text(
        HOOK.format(
            netns=netns,
            resolv=topology.NETNS_ETC / netns / "resolv.conf",
            lease=lease_path(state_dir, netns),
        ),
        encoding="utf-8",
    )
    path.chmod(0o700)
    return path


def udhcpc_argv(state_dir: Path, netns: str) -> list[str]:
    """Get one lease (asking for option 114) and exit; fail after ~10 s without one."""
    return in_netns(
        netns,
        [
            "busybox",
            "udhcpc",
            "-i",
            topology.GUEST_IFACE,
            "-s",
            str(hook_path(state_dir, netns)),
            "-O",
            "114",
            "-q",
            "-n",
            "-f",
            "-t",
            "5",
            "-T",
            "2",
        ],
    )


def request_lease(state_dir: Path, netns: str) -> dict[str, str]:
    """Run udhcpc in `netns`; return the lease it got (keys as udhcpc names them)."""
    run(udhcpc_argv(state_dir, netns), timeout=30)
    return read_lease(state_dir, netns)


def read_lease(state_dir: Path, netns: str) -> dict[str, str]:
    lease: dict[str, str] = {}
    try:
        text = lease_path(state_dir, netns).read_text(encoding="utf-8")
    except FileNotFoundError:
        return lease
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            lease[key] = value
    return lease


def option_114(lease: dict[str, str]) -> str | None:
    """The captive-portal URI from a lease; busybox hands unknown options over in hex."""
    raw = lease.get("opt114")
    if raw is None:
        return None
    try:
        return bytes.fromhex(raw).decode()
    except ValueError:
        return raw
