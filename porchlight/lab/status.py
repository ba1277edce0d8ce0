"""`porchlight lab status` and the summary `lab up` prints: what is where, and
whether each process is alive."""

from __future__ import annotations

from pathlib import Path

from porchlight.lab import guest_dhcp, topology
from porchlight.lab.commands import porchlight_argv
from porchlight.lab.state import LabState
from porchlight.lab.up import state_flag


def healthy(state: LabState) -> bool:
    return state.complete and all(record.alive() for record in state.processes)


def describe(state: LabState, namespaces: set[str] | None = None) -> list[str]:
    info = state.info
    state_dir = Path(state.state_dir)
    cmd = " ".join(porchlight_argv())
    if state.complete and healthy(state):
        headline = f"Porchlight venue lab {state.prefix} is up (state in {state_dir})"
    elif state.complete:
        headline = (
            f"Porchlight venue lab {state.prefix} is up but NOT HEALTHY: a process is DEAD "
            f"(state in {state_dir}); rebuild it with '{cmd} lab down' and 'lab up'"
        )
    else:
        headline = (
            f"Porchlight venue lab {state.prefix} is HALF MADE: 'up' stopped at "
            f"'{state.step}' (state in {state_dir}); remove it with '{cmd} lab down'"
        )
    lines = [headline, ""]
    router = info.get("router_netns")
    if router:
        lines.append(
            f"  router    ip netns exec {router} bash     "
            f"(LAN {info.get('router_lan_ip')}/24 on {info.get('lan_bridge')}, "
            f"WAN {topology.ROUTER_WAN_IP})"
        )
    if info.get("internet_netns"):
        lines.append(
            f"  internet  http://{info.get('internet_ip')}/ = http://internet.test/   "
            f"(ip netns exec {info['internet_netns']} bash)"
        )
    for index, guest in enumerate(info.get("guests", []), start=1):
        netns = guest["netns"]
        hook = guest_dhcp.hook_path(state_dir, netns)
        lines += [
            f"  guest {index}   ip netns exec {netns} bash     (MAC {guest['mac']} on eth0)",
            "            inside: busybox udhcpc -i eth0 -q -O 114 -s " + str(hook),
            "                    curl -i http://internet.test/   "
            "curl -i http://captive.apple.com/hotspot-detect.html",
        ]
    if info.get("portal_url"):
        lines.append(
            f"  portal    {info['portal_url']} (from a guest), "
            f"RFC 8908 API {info.get('captive_api_url')} (DHCP option 114)"
        )
    if info.get("admin_url"):
        login = info.get("demo_login") or {}
        lines.append(
            f"  admin     {info['admin_url']}/   demo login: {login.get('email')} / "
            f"{login.get('password')}"
        )
        lines.append(
            f"            (router reaches it at {info.get('admin_url_in_router')} "
            "through the lab's forwarder)"
        )
    if info.get("agent_socket") and state.process("agent"):
        lines.append(f"  agent     {cmd} agent status --socket {info['agent_socket']}")
    for skipped in info.get("skipped", []):
        lines.append(f"  skipped   {skipped}")
    lines.append("")
    lines.append("  processes:")
    for record in state.processes:
        where = f"in {record.netns}" if record.netns else "on the host"
        alive = "alive" if record.alive() else "DEAD"
        lines.append(
            f"    {record.name:<12} pid {record.pid or '-':<8} {alive:<6} {where}  log {record.log}"
        )
    if namespaces is not None:
        missing = [n for n in state.namespaces if n not in namespaces]
        if missing:
            lines.append(f"  namespaces missing: {', '.join(missing)}")
    lines += ["", f"  stop it:  {cmd} lab down" + state_flag(state_dir)]
    return lines
