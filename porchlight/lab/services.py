"""Starting the real parts in the lab: the admin (with its forwarder into the
router namespace), the agent (enrolled), the portal.

A part whose commands are not registered yet is skipped with a clear line;
the web parts run as `nobody` when it can run this Python.
"""

from __future__ import annotations

import functools
import grp
import logging
import os
import pwd
import secrets
import sys
from pathlib import Path
from typing import Any

from porchlight.lab import dnsmasq_conf, parts, processes, topology
from porchlight.lab.commands import (
    LabError,
    as_user,
    in_netns,
    porchlight_argv,
    python_module_argv,
    run,
)
from porchlight.lab.state import LabState

log = logging.getLogger(__name__)

UNPRIVILEGED_USER = "nobody"
UNPRIVILEGED_GROUP = "nogroup"
ADMIN_IN_ROUTER_PORT = 8000  # the forwarder's port inside the router namespace
DEMO_LOCATION = "Lab Café"
ROUTER_NAME = "lab-router"
WALLED_GARDEN_CONF = "walled-garden.conf"  # the agent writes it, dnsmasq reads it


def unprivileged(argv: list[str]) -> list[str]:
    """`argv` as the unprivileged user, when that user can run this Python."""
    if can_drop_privileges():
        return as_user(UNPRIVILEGED_USER, UNPRIVILEGED_GROUP, argv)
    return argv


@functools.cache
def can_drop_privileges() -> bool:
    """Whether the unprivileged user can run (and re-exec, as gunicorn launchers
    do) this installation's Python; not when it lives under a private home."""
    probe = "import os, sys; os.execv(sys.executable, [sys.executable, '-c', ''])"
    try:
        run(as_user(UNPRIVILEGED_USER, UNPRIVILEGED_GROUP, [sys.executable, "-c", probe]), cwd="/")
    except LabError:
        log.debug("%s cannot run %s", UNPRIVILEGED_USER, sys.executable)
        return False
    return True


def start_admin(
    state: LabState, admin_port: int, commands: dict[str, set[str]], say: Any
) -> str | None:
    lacking = parts.missing(commands, "admin", ("migrate", "demo", "router-add", "serve"))
    if lacking:
        say(f"==> admin: not available yet ({', '.join(lacking)} missing), skipped")
        state.info["skipped"].append("admin (" + ", ".join(lacking) + " not available yet)")
        return None
    state_dir = Path(state.state_dir)
    admin_dir = _admin_dir(state, state_dir)
    admin_socket = admin_dir / "admin.sock"
    url = f"http://127.0.0.1:{admin_port}"
    env = admin_env(state_dir, url)

    say("==> admin: migrate, demo tenant, router enrollment code")
    _admin_command(env, admin_dir, "migrate")
    demo = parts.parse_json_output(
        _admin_command(env, admin_dir, "demo", "--json"), "porchlight admin demo"
    )
    enrollment = parts.parse_json_output(
        _admin_command(env, admin_dir, "router-add", "--tenant", "demo",
                       "--location", DEMO_LOCATION, "--name", ROUTER_NAME, "--json"),
        "porchlight admin router-add",
    )  # fmt: skip
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
        unprivileged(
            [
                *porchlight_argv(),
                "admin",
                "serve",
                "--bind",
                f"127.0.0.1:{admin_port}",
                "--bind",
                f"unix:{admin_socket}",
            ]
        ),
        env=env,
        cwd=str(admin_dir),
    )
    processes.wait_until(admin, processes.unix_ready(admin_socket), "listening", timeout=40)
    return _start_forwarder(state, admin_socket, say)


def _admin_dir(state: LabState, state_dir: Path) -> Path:
    """The admin's directory (its data and socket) and its secret key file, made new."""
    admin_dir = state.add_path(state_dir / "admin")
    admin_dir.mkdir(mode=0o700, exist_ok=True)
    (admin_dir / "data").mkdir(mode=0o700, exist_ok=True)
    owner = _uid_gid(UNPRIVILEGED_USER, UNPRIVILEGED_GROUP)
    if can_drop_privileges():
        for path in (admin_dir, admin_dir / "data"):
            os.chown(path, *owner)
    secret_file = state.add_path(state_dir / "admin-secret-key")
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    return admin_dir


def _admin_command(env: dict[str, str], admin_dir: Path, *args: str) -> str:
    """Run `porchlight admin ARGS` as the unprivileged user; its output."""
    argv = unprivileged([*porchlight_argv(), "admin", *args])
    return run(argv, env=env, cwd=str(admin_dir), timeout=60)


def _start_forwarder(state: LabState, admin_socket: Path, say: Any) -> str:
    """The admin reachable from the router namespace; its URL there."""
    router = topology.Names(state.prefix).router
    say(f"==> forwarder 127.0.0.1:{ADMIN_IN_ROUTER_PORT} in the router namespace → admin socket")
    forwarder = processes.spawn(
        state,
        "forwarder",
        unprivileged(
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


AGENT_METRICS = "127.0.0.1:9101"  # the router namespace's own loopback, never the guest LAN


def metrics_argv(state: LabState) -> list[str]:
    """The agent's /metrics on the router's loopback, with the lab's DHCP leases and range."""
    state.info["agent_metrics"] = f"http://{AGENT_METRICS}/metrics (in {state.prefix}-router)"
    first, last = state.info.get("dhcp_range") or topology.dhcp_range()
    leases = Path(state.state_dir) / "dnsmasq.leases"
    return [
        "--metrics",
        AGENT_METRICS,
        "--dhcp-leases",
        str(leases),
        f"--dhcp-range={first},{last}",
    ]


def start_agent(
    state: LabState, commands: dict[str, set[str]], admin_url: str | None, say: Any
) -> None:
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
            *metrics_argv(state),
        ],
        netns=router,
    )
    processes.wait_until(agent, processes.unix_ready(agent_socket), "listening", timeout=30)


def start_portal(state: LabState, commands: dict[str, set[str]], say: Any) -> None:
    if parts.missing(commands, "portal", ("serve",)):
        say("==> portal: not available yet ('porchlight portal serve' missing), skipped")
        state.info["skipped"].append("portal (not available yet)")
        return
    router = topology.Names(state.prefix).router
    bind = f"{topology.ROUTER_LAN_IP}:{dnsmasq_conf.PORTAL_PORT}"
    home = state.add_path(Path(state.state_dir) / "portal")
    home.mkdir(mode=0o700, exist_ok=True)
    if can_drop_privileges():
        os.chown(home, *_uid_gid(UNPRIVILEGED_USER, UNPRIVILEGED_GROUP))
    say(f"==> portal on {bind} as {state.info.get('web_user')}")
    portal = processes.spawn(
        state,
        "portal",
        unprivileged(
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
