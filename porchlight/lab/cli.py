"""`porchlight lab up|status|down`: the venue lab in network namespaces (root)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from porchlight.lab import status
from porchlight.lab.commands import LabError
from porchlight.lab.down import down
from porchlight.lab.state import DEFAULT_STATE_DIR, load
from porchlight.lab.topology import existing_namespaces
from porchlight.lab.up import UpOptions, up


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--state-dir",
            default=DEFAULT_STATE_DIR,
            help=f"where the lab records what it made (default {DEFAULT_STATE_DIR})",
        )

    p_up = sub.add_parser(
        "up",
        help="build the lab: router, guest(s), internet host; agent, portal, admin",
        description="Build the venue lab in network namespaces and start every part.",
    )
    common(p_up)
    p_up.add_argument("--guests", type=int, default=1, help="guest phones (default 1)")
    p_up.add_argument(
        "--lan-prefix",
        type=int,
        default=24,
        metavar="BITS",
        help="the guest LAN's prefix length, 16-24 (default 24; 22 for a stadium's 923 leases)",
    )
    p_up.add_argument(
        "--admin-port", type=int, default=8000, help="admin port on 127.0.0.1 (default 8000)"
    )
    p_up.add_argument(
        "--network-only",
        action="store_true",
        help="only namespaces, NAT, internet host and dnsmasq (no admin, agent, portal)",
    )
    p_up.set_defaults(func=cmd_up)

    p_status = sub.add_parser("status", help="show the lab and whether each process is alive")
    common(p_status)
    p_status.add_argument("--json", action="store_true", help="the lab record as JSON")
    p_status.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing; exit 0 if a lab is up and healthy, 1 if none, 3 if broken",
    )
    p_status.set_defaults(func=cmd_status)

    p_down = sub.add_parser("down", help="remove every namespace, process and file of the lab")
    common(p_down)
    p_down.set_defaults(func=cmd_down)


def cmd_up(args: argparse.Namespace) -> int:
    options = UpOptions(
        state_dir=args.state_dir,
        guests=args.guests,
        admin_port=args.admin_port,
        network_only=args.network_only,
        lan_prefix=args.lan_prefix,
    )
    state = up(options, say=lambda line: print(line, flush=True))
    print()
    print("\n".join(status.describe(state)))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = load(args.state_dir)
    if args.quiet:
        if state is None:
            return 1
        return 0 if status.healthy(state) else 3
    if state is None:
        raise LabError(
            f"no lab is up (nothing recorded in {args.state_dir})",
            hint="start one with 'porchlight lab up'",
        )
    if args.json:
        data = asdict(state)
        for record, raw in zip(state.processes, data["processes"], strict=True):
            raw["alive"] = record.alive()
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print("\n".join(status.describe(state, existing_namespaces())))
    return 0 if status.healthy(state) else 3


def cmd_down(args: argparse.Namespace) -> int:
    state = down(args.state_dir)
    print(f"lab {state.prefix} is down: namespaces, processes and files removed")
    return 0
