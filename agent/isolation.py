"""Client isolation on the LAN bridge: guests do not reach each other.

Frames from one bridge port to another are bridged by the kernel and never
reach the `inet` hooks, and matching them by bridge in the `bridge` family
needs `nft_meta_bridge`, which not every router kernel has. So the agent uses
the bridge's own port isolation (``brport/isolated``, Linux 4.18): isolated
ports talk only to the bridge itself (the router) and to ports that are not
isolated (an uplink the venue marks by hand). Routed LAN-to-LAN traffic is
dropped by the forward chain (`nft_ruleset`).

Ports come and go (an access point's interface is recreated): a port that
joins is isolated when its link event arrives (the neighbour watcher hears
RTM_NEWLINK), and every reconcile round brings each port of the LAN bridge to
the wanted flag again. A LAN interface that is not a bridge has no ports:
nothing to do. Guests on one Wi-Fi interface share one port: keeping them
apart there is the access point's own isolation (hostapd `ap_isolate=1`).
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

SYS_NET = Path("/sys/class/net")


def bridge_ports(lan: str, sys_net: Path = SYS_NET) -> list[str]:
    brif = sys_net / lan / "brif"
    try:
        return sorted(p.name for p in brif.iterdir())
    except OSError:  # not a bridge, or gone
        return []


def apply_isolation(lan: str, isolated: bool, sys_net: Path = SYS_NET) -> list[str]:
    """Set every port of bridge `lan` isolated (or not); return the ports changed."""
    want = "1" if isolated else "0"
    changed = []
    for port in bridge_ports(lan, sys_net):
        flag = sys_net / port / "brport" / "isolated"
        try:
            if flag.read_text().strip() != want:
                flag.write_text(want)
                changed.append(port)
        except OSError as exc:  # a port leaving as we look, or a kernel without the flag
            log.warning("bridge port %s: cannot set isolated=%s: %s", port, want, exc)
    if changed:
        log.info("bridge %s: ports %s isolated=%s", lan, ", ".join(changed), want)
    return changed
