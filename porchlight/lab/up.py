"""`porchlight lab up`: build the venue lab step by step, recording each step first.

Order: checks → namespaces, links, NAT → internet host → admin (migrate, demo,
router-add, serve) → forwarder → agent enroll → agent run → dnsmasq → portal.
"""

from __future__ import annotations

import functools
import grp
import logging
import os
import pwd
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from porchlight.lab import dnsmasq_conf, guest_dhcp, parts, processes, topology
from porchlight.lab.commands import (
    LabError,
    as_user,
    check_host,
    in_netns,
    porchlight_argv,
    python_module_argv,
    run,
)
from porchlight.lab.state import DEFAULT_STATE_DIR, LabState, load, new_prefix

log = logging.getLogger(__name__)

UNPRIVILEGED_USER = "nobody"
UNPRIVILEGED_GROUP = "nogroup"
ADMIN_IN_ROUTER_PORT = 8000  # the forwarder's port inside the router namespace
DEMO_LOCATION = "Lab Café"
ROUTER_NAME = "lab-router"
WALLED_GARDEN_CONF = "walled-garden.conf"  # the agent writes it, dnsmasq reads it


@dataclass
class UpOptions:
    state_dir: str
    guests: int = 1
    admin_port: int = 8000
    network_only: bool = False


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

    say(f"==> namespaces {state.prefix}-* (router, internet, {options.guests} guest(s))")
    topology.build(state, options.guests)
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
        skipped=[],
    )
    state.add_path(state_dir / "logs")

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
            UNPRIVILEGED_USER,
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

    agent_dir = state.add_path(state_dir / "agent")
    agent_dir.mkdir(mode=0o700, exist_ok=True)
    conf_dir = agent_dir / "dnsmasq.d"
    conf_dir.mkdir(mode=0o755, exist_ok=True)
    agent_socket = state.add_path(state_dir / "agent.sock")
    state.info.update(agent_socket=str(agent_socket), agent_state_dir=str(agent_dir))

    admin_url_in_router: str | None = None
    if not options.network_only:
        web_user = UNPRIVILEGED_USER if _can_drop_privileges() else "root"
        state.info["web_user"] = web_user
        if web_user == "root":
            say(
                f"==> note: {UNPRIVILEGED_USER} cannot run {sys.executable} (it lives where "
                "others may not go), so the admin, portal and forwarder run as root"
            )
    if options.network_only:
        state.info["skipped"].append("admin, agent and portal (--network-only)")
    else:
        admin_url_in_router = _admin(state, options, commands, say)
        _agent(state, commands, admin_url_in_router, say)

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

    if not options.network_only:
        _portal(state, commands, say)

    state.begin("check")
    for record in state.processes:
        if not record.alive():
            raise LabError(
                f"{record.name} died after starting: {processes.log_tail(record) or 'no output'}",
                hint=f"see {record.log}",
            )
    state.complete = True
    state.begin("up")


def _unprivileged(argv: list[str]) -> list[str]:
    """`argv` as the unprivileged user, when that user can run this Python."""
    if _can_drop_privileges():
        return as_user(UNPRIVILEGED_USER, UNPRIVILEGED_GROUP, argv)
    return argv


@functools.cache
def _can_drop_privileges() -> bool:
    """Whether the unprivileged user can run (and re-exec, as gunicorn launchers
    do) this installation's Python; not when it lives under a private home."""
    probe = "import os, sys; os.execv(sys.executable, [sys.executable, '-c', ''])"
    try:
        run(as_user(UNPRIVILEGED_USER, UNPRIVILEGED_GROUP, [sys.executable, "-c", probe]), cwd="/")
    except LabError:
        log.debug("%s cannot run %s", UNPRIVILEGED_USER, sys.executable)
        return False
    return True


def _admin(
    state: LabState, options: UpOptions, commands: dict[str, set[str]], say: Any
) -> str | None:
    lacking = parts.missing(commands, "admin", ("migrate", "demo", "router-add", "serve"))
    if lacking:
        say(f"==> admin: not available yet ({', '.join(lacking)} missing), skipped")
        state.info["skipped"].append("admin (" + ", ".join(lacking) + " not available yet)")
        return None
    state_dir = Path(state.state_dir)
    admin_dir = state.add_path(state_dir / "admin")
    admin_dir.mkdir(mode=0o700, exist_ok=True)
    (admin_dir / "data").mkdir(mode=0o700, exist_ok=True)
    owner = _uid_gid(UNPRIVILEGED_USER, UNPRIVILEGED_GROUP)
    if _can_drop_privileges():
        for path in (admin_dir, admin_dir / "data"):
            os.chown(path, *owner)
    secret_file = state.add_path(state_dir / "admin-secret-key")
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    admin_socket = admin_dir / "admin.sock"
    url = f"http://127.0.0.1:{options.admin_port}"
    env = admin_env(state_dir, url)
    porchlight = porchlight_argv()

    say("==> admin: migrate, demo tenant, router enrollment code")
    run(_unprivileged([*porchlight, "admin", "migrate"]), env=env, cwd=str(admin_dir), timeout=60)
    demo = parts.parse_json_output(
        run(
            _unprivileged([*porchlight, "admin", "demo", "--json"]),
            env=env,
            cwd=str(admin_dir),
            timeout=60,
        ),
        "porchlight admin demo",
    )
    enrollment = parts.parse_json_output(
        run(
            _unprivileged(
                [
                    *porchlight,
                    "admin",
                    "router-add",
                    "--tenant",
                    "demo",
                    "--location",
                    DEMO_LOCATION,
                    "--name",
                    ROUTER_NAME,
                    "--json",
                ]
            ),
            env=env,
            cwd=str(admin_dir),
            timeout=60,
        ),
        "porchlight admin router-add",
    )
    code = parts.find_value(enrollment, ("code", "enrollment_code"))
    if not code:
        raise LabError(f"admin router-add printed no enrollment code: {enrollment}")
    state.info.update(
        admin_url=url,
        admin_socket=str(admin_socket),
        admin_database=str(admin_dir / "admin.db"),
        demo_login={
            "email": parts.find_value(demo, ("email", "login", "username", "user")),
            "password": parts.find_value(demo, ("password",)),
        },
        enrollment_code=str(code),
        location=DEMO_LOCATION,
    )
    state.save()

    say(f"==> admin on {url} (and {admin_socket})")
    admin = processes.spawn(
        state,
        "admin",
        _unprivileged(
            [
                *porchlight,
                "admin",
                "serve",
                "--bind",
                f"127.0.0.1:{options.admin_port}",
                "--bind",
                f"unix:{admin_socket}",
            ]
        ),
        env=env,
        cwd=str(admin_dir),
    )
    processes.wait_until(admin, processes.unix_ready(admin_socket), "listening", timeout=40)

    router = topology.Names(state.prefix).router
    say(f"==> forwarder 127.0.0.1:{ADMIN_IN_ROUTER_PORT} in the router namespace → admin socket")
    forwarder = processes.spawn(
        state,
        "forwarder",
        _unprivileged(
            [
                *python_module_argv("porchlight.lab.forwarder"),
                "--listen",
                f"127.0.0.1:{ADMIN_IN_ROUTER_PORT}",
                "--to",
                str(admin_socket),
            ]
        ),
        netns=router,
    )
    processes.wait_until(
        forwarder, processes.tcp_ready(router, "127.0.0.1", ADMIN_IN_ROUTER_PORT), "listening"
    )
    in_router = f"http://127.0.0.1:{ADMIN_IN_ROUTER_PORT}"
    state.info["admin_url_in_router"] = in_router
    state.save()
    return in_router


def admin_env(state_dir: Path, url: str) -> dict[str, str]:
    """The admin's environment: SQLite and the secret key in the state dir."""
    admin_dir = state_dir / "admin"
    secret = (state_dir / "admin-secret-key").read_text(encoding="ascii").strip()
    return {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "HOME": str(admin_dir),
        "LANG": "C.UTF-8",
        "PORCHLIGHT_ADMIN_SECRET_KEY": secret,
        "PORCHLIGHT_ADMIN_DATABASE_URL": f"sqlite:///{admin_dir / 'admin.db'}",
        "PORCHLIGHT_ADMIN_DATA_DIR": str(admin_dir / "data"),
        "PORCHLIGHT_ADMIN_PUBLIC_URL": url,
    }


def _uid_gid(user: str, group: str) -> tuple[int, int]:
    return pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid


def _agent(state: LabState, commands: dict[str, set[str]], admin_url: str | None, say: Any) -> None:
    router = topology.Names(state.prefix).router
    agent_dir = Path(state.info["agent_state_dir"])
    agent_socket = state.info["agent_socket"]
    porchlight = porchlight_argv()
    if admin_url is None:
        state.info["skipped"].append("agent enroll (no admin)")
    elif parts.missing(commands, "agent", ("enroll",)):
        say("==> agent enroll: not available yet, skipped")
        state.info["skipped"].append("agent enroll (not available yet)")
    else:
        say(f"==> agent enroll {admin_url}")
        run(
            in_netns(
                router,
                [
                    *porchlight,
                    "agent",
                    "enroll",
                    admin_url,
                    state.info["enrollment_code"],
                    "--state-dir",
                    str(agent_dir),
                ],
            ),
            timeout=60,
        )
        state.info["enrolled"] = True
        state.save()
    if parts.missing(commands, "agent", ("run",)):
        say("==> agent: not available yet ('porchlight agent run' missing), skipped")
        state.info["skipped"].append("agent run (not available yet)")
        return
    say(f"==> agent on {topology.LAN_BRIDGE} (socket {agent_socket})")
    agent = processes.spawn(
        state,
        "agent",
        [
            *porchlight,
            "agent",
            "run",
            "--lan",
            topology.LAN_BRIDGE,
            "--state-dir",
            str(agent_dir),
            "--socket",
            agent_socket,
            "--portal-port",
            str(dnsmasq_conf.PORTAL_PORT),
            "--socket-group",
            UNPRIVILEGED_GROUP,
            "--dnsmasq-conf",
            str(agent_dir / "dnsmasq.d" / WALLED_GARDEN_CONF),
        ],
        netns=router,
    )
    processes.wait_until(agent, processes.unix_ready(agent_socket), "listening", timeout=30)


def _portal(state: LabState, commands: dict[str, set[str]], say: Any) -> None:
    if parts.missing(commands, "portal", ("serve",)):
        say("==> portal: not available yet ('porchlight portal serve' missing), skipped")
        state.info["skipped"].append("portal (not available yet)")
        return
    router = topology.Names(state.prefix).router
    bind = f"{topology.ROUTER_LAN_IP}:{dnsmasq_conf.PORTAL_PORT}"
    home = state.add_path(Path(state.state_dir) / "portal")
    home.mkdir(mode=0o700, exist_ok=True)
    if _can_drop_privileges():
        os.chown(home, *_uid_gid(UNPRIVILEGED_USER, UNPRIVILEGED_GROUP))
    say(f"==> portal on {bind} as {state.info.get('web_user')}")
    portal = processes.spawn(
        state,
        "portal",
        _unprivileged(
            [
                *porchlight_argv(),
                "portal",
                "serve",
                "--bind",
                bind,
                "--agent-socket",
                state.info["agent_socket"],
            ]
        ),
        netns=router,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),  # gunicorn keeps its control socket under $HOME
            "LANG": "C.UTF-8",
        },
        cwd=str(home),
    )
    processes.wait_until(
        portal,
        processes.tcp_ready(router, topology.ROUTER_LAN_IP, dnsmasq_conf.PORTAL_PORT),
        "listening",
        timeout=40,
    )
    state.info["portal_url"] = f"http://{bind}/"
