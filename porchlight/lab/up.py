"""`porchlight lab up`: build the venue lab step by step, recording each step first.

Order: checks → namespaces, links, NAT → internet host → admin (migrate, demo,
router-add, serve) → forwarder → agent enroll → agent run → dnsmasq → portal.
"""

from __future__ import annotations

import logging
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from porchlight.lab import dnsmasq_conf, guest_dhcp, parts, processes, services, topology
from porchlight.lab.commands import (
    LabError,
    check_host,
    python_module_argv,
)
from porchlight.lab.state import DEFAULT_STATE_DIR, LabState, load, new_prefix

log = logging.getLogger(__name__)


@dataclass
class UpOptions:
    state_dir: str
    guests: int = 1
    admin_port: int = 8000
    network_only: bool = False
    lan_prefix: int = topology.LAN_PREFIX


def _prepare_state_dir(path: Path) -> bool:
    """Create the state dir (or accept an empty one); True when we created it."""
    created = False
    if path.exists():
        if any(path.iterdir()):
            raise LabError(f"{path} is not empty", hint="pick an empty --state-dir")
    else:
        path.mkdir(parents=True, mode=0o711)
        created = True
    path.chmod(0o711)  # others may traverse (the portal's user reaches the agent socket)
    for parent in [path, *path.parents]:
        if not parent.stat().st_mode & stat.S_IXOTH:
            raise LabError(
                f"{parent} is closed to other users, so the unprivileged portal "
                f"cannot reach the agent socket under {path}",
                hint="pick a --state-dir under a directory others may traverse, e.g. /var/lib",
            )
    return created


def up(options: UpOptions, say: Any = print) -> LabState:
    """Bring the lab up; `say` prints progress lines for the person at the keyboard."""
    check_host()
    state_dir = Path(options.state_dir).resolve()
    if load(str(state_dir)) is not None:
        raise LabError(
            f"a lab is already up (recorded in {state_dir})",
            hint=f"see it with 'porchlight lab status{state_flag(state_dir)}', "
            f"remove it with 'porchlight lab down{state_flag(state_dir)}'",
        )
    if options.guests < 1 or options.guests > 50:
        raise LabError("--guests must be between 1 and 50")
    if options.guests > topology.dhcp_range_size(options.lan_prefix):  # also checks the prefix
        raise LabError(f"--guests {options.guests} do not fit a /{options.lan_prefix}")
    commands = parts.available_commands()
    if not options.network_only:
        processes.ensure_free_tcp_port("127.0.0.1", options.admin_port)
    created = _prepare_state_dir(state_dir)
    state = LabState(state_dir=str(state_dir), prefix=new_prefix(), created_state_dir=created)
    state.save()
    try:
        _build(state, options, commands, say)
    except LabError as exc:
        raise LabError(
            f"lab up failed at '{state.step}': {exc.message}",
            hint=(exc.hint + "; " if exc.hint else "")
            + f"clean up with 'porchlight lab down{state_flag(state_dir)}'",
        ) from exc
    except KeyboardInterrupt as exc:
        raise LabError(
            f"lab up interrupted at '{state.step}'",
            hint=f"clean up with 'porchlight lab down{state_flag(state_dir)}'",
        ) from exc
    return state


def state_flag(state_dir: Path) -> str:
    return "" if str(state_dir) == DEFAULT_STATE_DIR else f" --state-dir {state_dir}"


def _build(state: LabState, options: UpOptions, commands: dict[str, set[str]], say: Any) -> None:
    state_dir = Path(state.state_dir)
    names = topology.Names(state.prefix)
    _namespaces(state, options, say)
    _internet(state, say)

    agent_dir = state.add_path(state_dir / "agent")
    agent_dir.mkdir(mode=0o700, exist_ok=True)
    conf_dir = agent_dir / "dnsmasq.d"
    conf_dir.mkdir(mode=0o755, exist_ok=True)
    agent_socket = state.add_path(state_dir / "agent.sock")
    state.info.update(agent_socket=str(agent_socket), agent_state_dir=str(agent_dir))

    admin_url_in_router: str | None = None
    if not options.network_only:
        web_user = services.UNPRIVILEGED_USER if services.can_drop_privileges() else "root"
        state.info["web_user"] = web_user
        if web_user == "root":
            say(
                f"==> note: {services.UNPRIVILEGED_USER} cannot run {sys.executable} (it lives "
                "where others may not go), so the admin, portal and forwarder run as root"
            )
    if options.network_only:
        state.info["skipped"].append("admin, agent and portal (--network-only)")
    else:
        admin_url_in_router = services.start_admin(state, options.admin_port, commands, say)
        services.start_agent(state, commands, admin_url_in_router, say)

    _lan_dnsmasq(state, names, conf_dir, say)

    if not options.network_only:
        services.start_portal(state, commands, say)

    state.begin("check")
    for record in state.processes:
        if not record.alive():
            raise LabError(
                f"{record.name} died after starting: {processes.log_tail(record) or 'no output'}",
                hint=f"see {record.log}",
            )
    state.complete = True
    state.begin("up")


def _namespaces(state: LabState, options: UpOptions, say: Any) -> None:
    """The namespaces and veths; each guest's DHCP hook; what they are in `state.info`."""
    state_dir = Path(state.state_dir)
    names = topology.Names(state.prefix)
    say(f"==> namespaces {state.prefix}-* (router, internet, {options.guests} guest(s))")
    topology.build(state, options.guests, options.lan_prefix)
    guests = []
    for index in range(1, options.guests + 1):
        netns = names.guest(index)
        state.add_path(guest_dhcp.lease_path(state_dir, netns))
        state.add_path(guest_dhcp.hook_path(state_dir, netns))
        guest_dhcp.write_hook(state_dir, netns)
        guests.append({"netns": netns, "mac": topology.guest_mac(netns)})
    state.info.update(
        router_netns=names.router,
        internet_netns=names.internet,
        guests=guests,
        router_lan_ip=topology.ROUTER_LAN_IP,
        internet_ip=topology.INTERNET_IP,
        lan_bridge=topology.LAN_BRIDGE,
        lan_prefix=options.lan_prefix,
        dhcp_range=list(topology.dhcp_range(options.lan_prefix)),
        skipped=[],
    )
    state.add_path(state_dir / "logs")


def _internet(state: LabState, say: Any) -> None:
    """The internet host's web server and DNS server, answering from the router."""
    state_dir = Path(state.state_dir)
    names = topology.Names(state.prefix)
    say(f"==> internet host on {topology.INTERNET_IP}:80")
    internet = processes.spawn(
        state,
        "internet",
        [
            *python_module_argv("porchlight.lab.internet_host"),
            "--bind",
            topology.INTERNET_IP,
            "--port",
            "80",
            "--user",
            services.UNPRIVILEGED_USER,
        ],
        netns=names.internet,
    )
    processes.wait_until(
        internet, processes.tcp_ready(names.router, topology.INTERNET_IP, 80), "reachable"
    )

    say(f"==> internet DNS on {topology.INTERNET_IP}:53")
    dns_conf = state.add_path(state_dir / "internet-dns.conf")
    dns_conf.write_text(
        dnsmasq_conf.render_internet_dns(pid_file=state.add_path(state_dir / "internet-dns.pid")),
        encoding="utf-8",
    )
    internet_dns = processes.spawn(
        state, "internet-dns", dnsmasq_conf.argv(dns_conf), netns=names.internet
    )
    processes.wait_until(
        internet_dns, processes.tcp_ready(names.router, topology.INTERNET_IP, 53), "reachable"
    )


def _lan_dnsmasq(state: LabState, names: topology.Names, conf_dir: Path, say: Any) -> None:
    """The router's dnsmasq (DHCP with option 114, DNS), restarted when `conf_dir` changes."""
    state_dir = Path(state.state_dir)
    say("==> dnsmasq (DHCP with option 114, DNS) on " + topology.LAN_BRIDGE)
    api_url = dnsmasq_conf.captive_api_url()
    conf = state.add_path(state_dir / "dnsmasq.conf")
    lease_file = state.add_path(state_dir / "dnsmasq.leases")
    conf.write_text(
        dnsmasq_conf.render(
            lease_file=lease_file,
            pid_file=state.add_path(state_dir / "dnsmasq.pid"),
            conf_dir=conf_dir,
            api_url=api_url,
            lan_prefix=state.info.get("lan_prefix", topology.LAN_PREFIX),
        ),
        encoding="utf-8",
    )
    state.info.update(captive_api_url=api_url, dnsmasq_leases=str(lease_file))
    supervised = [
        *python_module_argv("porchlight.lab.dnsmasq_supervisor"),
        "--watch",
        str(conf_dir),
        "--",
        *dnsmasq_conf.argv(conf),
    ]  # restarts dnsmasq when the agent rewrites its walled-garden snippet
    dnsmasq = processes.spawn(state, "dnsmasq", supervised, netns=names.router)
    processes.wait_until(
        dnsmasq, processes.tcp_ready(names.router, topology.ROUTER_LAN_IP, 53), "answering DNS"
    )
