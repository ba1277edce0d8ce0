"""`porchlight agent run|status|auth|deauth|trust|block|reload`.

Imports stay light (`agent status` at a stadium is asked often): the daemon, the
store, sqlite3 and the event schema are imported by the commands that use them.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from typing import Any

from porchlight.agent_client import AgentClient, AgentError
from porchlight.errors import PorchlightError, UsageError

DEFAULT_SOCKET = "/run/porchlight/agent.sock"
DEFAULT_STATE_DIR = "/var/lib/porchlight/agent"
DB_FILENAME = "agent.db"  # store.DB_FILENAME, without importing sqlite-utils here


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="run the gate daemon (root)")
    run.add_argument("--lan", required=True, help="LAN interface or bridge guests are on")
    run.add_argument("--state-dir", required=True, help="directory for the store and tokens")
    run.add_argument("--socket", default=DEFAULT_SOCKET, help="local API socket path")
    run.add_argument("--portal-port", type=int, default=8080, help="port the portal listens on")
    run.add_argument(
        "--portal-tls-port",
        type=int,
        default=None,
        help="the portal's HTTPS port (RFC 8908 API), also open to guests before login",
    )
    run.add_argument("--socket-group", help="group allowed to use the socket (the portal's)")
    run.add_argument("--dnsmasq-conf", help="file to write walled-garden nftset= lines to")
    run.add_argument("--wan", help="masquerade LAN traffic leaving this interface")
    run.add_argument(
        "--reconcile-seconds", type=float, default=5.0, help="seconds between reconciles"
    )
    run.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus /metrics on a loopback address (e.g. 127.0.0.1:9101)",
    )
    run.add_argument("--dhcp-leases", metavar="FILE", help="dnsmasq's lease file, for metrics")
    run.add_argument("--dhcp-range", metavar="FIRST,LAST", help="the DHCP range, for metrics")
    run.set_defaults(func=cmd_run)

    status = sub.add_parser(
        "status", help="counts, then the newest clients: state, time left, idle, bytes"
    )
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument(
        "--all",
        action="store_true",
        help="every client, streamed (with --json: one JSON object per line)",
    )
    status.add_argument(
        "--limit", type=int, default=100, help="clients shown without --all (default 100)"
    )
    status.add_argument(
        "--state-dir",
        help="the agent's state directory, for the sync figures (default: where the "
        f"running agent says its store is, else {DEFAULT_STATE_DIR})",
    )
    _socket(status)
    status.set_defaults(func=cmd_status)

    for name, help_text, func in (
        ("auth", "let a MAC online now (a session without a login)", cmd_auth),
        ("deauth", "end a MAC's session and send it back to the portal", cmd_deauth),
        ("trust", "always let a MAC through (printers, staff devices)", cmd_trust),
        ("block", "keep a MAC off the network", cmd_block),
    ):
        parser = sub.add_parser(name, help=help_text)
        parser.add_argument("mac", metavar="MAC")
        if name in ("trust", "block"):
            parser.add_argument("--remove", action="store_true", help=f"un-{name} the MAC")
        if name == "auth":
            parser.add_argument("--seconds", type=int, help="session length (default: config)")
        _socket(parser)
        parser.set_defaults(func=func)

    reload = sub.add_parser("reload", help="re-read config and rebuild the firewall table")
    _socket(reload)
    reload.set_defaults(func=cmd_reload)


def _socket(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", default=DEFAULT_SOCKET, help="the agent's socket")


def _call(args: argparse.Namespace, action: str, **params: Any) -> dict[str, Any]:
    try:
        return AgentClient(args.socket, timeout=10.0).call(action, **params)
    except AgentError as exc:
        raise PorchlightError(f"agent refused: {exc.message or exc.code}") from exc


def _mac(value: str) -> str:
    from porchlight.events import EventError, normalize_mac  # only the MAC commands need it

    try:
        return normalize_mac(value)
    except EventError as exc:
        raise UsageError(f"{value!r} is not a MAC address (like aa:bb:cc:dd:ee:ff)") from exc


def cmd_run(args: argparse.Namespace) -> int:
    import sqlite3

    from porchlight.agent.daemon import (
        Agent,
        install_signal_handlers,
        limit_malloc_arenas,
        prefer_short_turns,
    )
    from porchlight.agent.runner import CommandError

    ports = {"--portal-port": args.portal_port, "--portal-tls-port": args.portal_tls_port}
    for flag, port in ports.items():
        if port is not None and not 1 <= port <= 65535:
            raise UsageError(f"{flag} must be 1-65535")
    if args.reconcile_seconds <= 0:
        raise UsageError("--reconcile-seconds must be positive")
    try:
        socket.if_nametoindex(args.lan)
    except OSError as exc:
        raise UsageError(f"LAN interface {args.lan!r} does not exist (see 'ip link')") from exc
    limit_malloc_arenas()
    prefer_short_turns()
    metrics, listen = _metrics(args)
    try:
        agent = Agent(
            lan=args.lan,
            state_dir=args.state_dir,
            socket_path=args.socket,
            portal_port=args.portal_port,
            portal_tls_port=args.portal_tls_port,
            socket_group=args.socket_group,
            dnsmasq_conf=args.dnsmasq_conf,
            wan=args.wan,
            reconcile_seconds=args.reconcile_seconds,
            metrics=metrics,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except (OSError, sqlite3.Error) as exc:
        raise PorchlightError(f"cannot open the agent store in {args.state_dir}: {exc}") from exc
    if metrics is not None and listen is not None:
        try:
            metrics.serve(*listen)
        except OSError as exc:
            raise UsageError(f"cannot serve metrics on {args.metrics}: {exc.strerror}") from exc
    install_signal_handlers(agent)
    try:
        agent.run_forever()
    except CommandError as exc:
        raise PorchlightError(f"cannot set up the firewall: {exc}") from exc
    return 0


def _metrics(args: argparse.Namespace) -> tuple[Any, tuple[str, int] | None]:
    """The Prometheus registry with --metrics (imported only then), and where to serve it."""
    if not args.metrics:
        return None, None
    from porchlight.agent.metrics import AgentMetrics, parse_listen, parse_range
    from porchlight.agent.store import db_path

    listen = parse_listen(args.metrics)
    size = parse_range(args.dhcp_range) if args.dhcp_range else None
    leases = Path(args.dhcp_leases) if args.dhcp_leases else None
    return AgentMetrics(db_path(args.state_dir), leases=leases, range_size=size), listen


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}GB"


def _sync_lines(sync: dict[str, Any]) -> list[str]:
    if "error" in sync:
        return [f"sync: {sync['error']}"]
    lines = [f"sync: {sync['outbox_depth']} events waiting to be sent"]
    newest = sync["newest_rejected"]
    if sync["rejected_events"] and newest:
        lines.append(
            f"WARNING: {sync['rejected_events']} events refused by the admin and parked; "
            f"newest {newest['parked_at']}: {newest['reason']}"
        )
    return lines


def _store(args: argparse.Namespace, answer: dict[str, Any]) -> Path:
    if args.state_dir:
        return Path(args.state_dir) / DB_FILENAME
    if answer.get("store"):  # the running agent says where its store is (the lab's too)
        return Path(answer["store"])
    return Path(DEFAULT_STATE_DIR) / DB_FILENAME


def _sync_summary(args: argparse.Namespace, answer: dict[str, Any]) -> dict[str, Any]:
    from porchlight.agent.sync_parked import read_summary

    return read_summary(_store(args, answer))


_COLUMNS = ("MAC", "IP", "STATE", "LEFT", "IDLE", "DOWN", "UP", "RAND", "HOSTNAME")
_WIDTHS = (17, 15, 10, 9, 9, 8, 8, 4, 0)  # for a streamed table (widths known up front)


def _row(c: dict[str, Any]) -> tuple[str, ...]:
    return (
        c["mac"],
        c.get("ip") or "-",
        c["state"],
        _duration(c["seconds_remaining"]) if c["state"] == "authorized" else "-",
        _duration(c.get("idle_seconds")),
        _size(c.get("bytes_in", 0)),
        _size(c.get("bytes_out", 0)),
        "yes" if c.get("randomized") else "no",
        c.get("hostname") or "-",
    )


def _line(row: tuple[str, ...], widths: tuple[int, ...]) -> str:
    return "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n"


def _counts(summary: dict[str, int]) -> str:
    return (
        f"{summary['total']} clients: {summary['authorized']} authorized, "
        f"{summary['pending']} pending, {summary['trusted']} trusted, "
        f"{summary['blocked']} blocked\n"
    )


def _status_all(args: argparse.Namespace) -> int:
    """Every client as the agent streams it: JSON lines, or a table with fixed widths."""
    rows = AgentClient(args.socket, timeout=30.0).stream("status", all=True)
    try:
        head = next(rows)
        sync = _sync_summary(args, head)
        out = sys.stdout
        if args.json:
            out.write(json.dumps({"summary": head["summary"], "sync": sync}) + "\n")
            for client in rows:
                out.write(json.dumps(client, ensure_ascii=False) + "\n")
            return 0
        out.write(_counts(head["summary"]) + _line(_COLUMNS, _WIDTHS))
        for client in rows:
            out.write(_line(_row(client), _WIDTHS))
        for line in _sync_lines(sync):
            out.write(line + "\n")
        return 0
    except AgentError as exc:
        raise PorchlightError(f"agent refused: {exc.message or exc.code}") from exc


def cmd_status(args: argparse.Namespace) -> int:
    if args.all:
        return _status_all(args)
    if not 1 <= args.limit <= 1000:
        raise UsageError("--limit must be 1-1000 (--all for every client)")
    answer = _call(args, "status", limit=args.limit)
    clients, summary = answer["clients"], answer.get("summary")
    sync = _sync_summary(args, answer)
    if args.json:
        shown = {"summary": summary, "clients": clients, "next": answer.get("next")}
        json.dump({**shown, "sync": sync}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    if summary:
        sys.stdout.write(_counts(summary))
    rows = [_COLUMNS, *(_row(c) for c in clients)]
    widths = tuple(max(len(row[i]) for row in rows) for i in range(len(_COLUMNS)))
    for row in rows:
        sys.stdout.write(_line(row, widths))
    if not clients:
        sys.stdout.write("(no clients seen yet)\n")
    elif answer.get("next"):
        sys.stdout.write(f"(the newest {len(clients)}; --all for every client)\n")
    for line in _sync_lines(sync):
        sys.stdout.write(line + "\n")
    return 0


def cmd_auth(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"mac": _mac(args.mac)}
    if args.seconds is not None:
        if args.seconds <= 0:
            raise UsageError("--seconds must be positive")
        params["seconds"] = args.seconds
    session = _call(args, "admit", **params)["session"]
    sys.stdout.write(f"{params['mac']} online for {_duration(session['seconds_remaining'])}\n")
    return 0


def cmd_deauth(args: argparse.Namespace) -> int:
    mac = _mac(args.mac)
    ended = _call(args, "deauthorize", mac=mac, reason="operator")["ended"]
    sys.stdout.write(f"{mac}: {'session ended' if ended else 'had no open session'}\n")
    return 0


def cmd_trust(args: argparse.Namespace) -> int:
    mac = _mac(args.mac)
    _call(args, "trust", mac=mac, remove=args.remove)
    sys.stdout.write(f"{mac}: {'no longer trusted' if args.remove else 'trusted'}\n")
    return 0


def cmd_block(args: argparse.Namespace) -> int:
    mac = _mac(args.mac)
    _call(args, "block", mac=mac, remove=args.remove)
    sys.stdout.write(f"{mac}: {'unblocked' if args.remove else 'blocked'}\n")
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    _call(args, "reload")
    sys.stdout.write("agent reloaded\n")
    return 0
