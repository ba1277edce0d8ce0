"""`python3 -m porchlight_deploy install|upgrade|uninstall ...` (run by deploy/*-router).

Stdlib only: it runs before the venv exists, with the system's python3.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .host import DeployError, Host
from .install import read_record, run_install, run_stage
from .preflight import InstallOptions
from .remove import run_uninstall
from .tls import installed as installed_tls
from .tls import tls_options
from .upgrade import run_upgrade
from .venv import Source


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument(
        "--root",
        default="/",
        metavar="DIR",
        help="apply to a target root directory instead of this system (tests, images)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug output")
    # with --root: also set (and restore) live kernel settings in this network namespace
    parser.add_argument("--live-sysctl", action="store_true", help=argparse.SUPPRESS)


def _source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wheel", type=Path, help="install this porchlight wheel")
    parser.add_argument(
        "--wheelhouse",
        type=Path,
        metavar="DIR",
        help="install offline from wheels in DIR (made with 'pip wheel .[router]')",
    )
    parser.add_argument("--min-free-mb", type=int, default=300, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="porchlight-deploy")
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", prog="install-router", help="install and enroll")
    inst.add_argument("--lan", metavar="IFACE", help="the guest LAN interface (e.g. br-lan)")
    inst.add_argument("--admin-url", metavar="URL", help="the admin, e.g. https://admin.example")
    inst.add_argument("--code", help="the one-time enrollment code from the admin")
    inst.add_argument("--no-enroll", action="store_true", help="install without enrolling")
    inst.add_argument("--wan", metavar="IFACE", help="let the agent masquerade guests out of IFACE")
    inst.add_argument(
        "--insecure", action="store_true", help="allow enrolling over plain http (lab only)"
    )
    inst.add_argument("--dhcp-range", metavar="FIRST,LAST", help="guest DHCP range")
    inst.add_argument(
        "--guests",
        type=int,
        metavar="N",
        help="most guests at once: checks the range holds them, sizes leases and DNS",
    )
    inst.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="the agent serves Prometheus /metrics on 127.0.0.1:PORT (e.g. 9101)",
    )
    inst.add_argument(
        "--portal-name",
        metavar="NAME",
        help="also serve the portal over HTTPS as NAME:8443 (RFC 8908); with --tls-cert/--tls-key",
    )
    inst.add_argument("--tls-cert", type=Path, metavar="FILE", help="PEM certificate for NAME")
    inst.add_argument("--tls-key", type=Path, metavar="FILE", help="its PEM private key")
    inst.add_argument("--rollback", action="store_true", help="undo an install that did not finish")
    inst.add_argument(
        "--stage-only",
        action="store_true",
        help="software and unit files only, configured at first boot (deploy/build-image)",
    )
    _common(inst)
    _source(inst)
    up = sub.add_parser("upgrade", prog="upgrade-router", help="upgrade in place")
    _common(up)
    _source(up)
    rm = sub.add_parser("uninstall", prog="uninstall-router", help="remove Porchlight")
    rm.add_argument("--keep-data", action="store_true", help="keep /var/lib/porchlight")
    rm.add_argument(
        "--keep-packages", action="store_true", help="keep Debian packages the installer added"
    )
    _common(rm)
    return parser


def ask(value: str | None, prompt: str, flag: str) -> str:
    if value:
        return value
    if not sys.stdin.isatty():
        raise DeployError(f"{flag} is required (no terminal to ask on)")
    answer = input(f"{prompt}: ").strip()
    if not answer:
        raise DeployError(f"{flag} is required")
    return answer


def install_options(args: argparse.Namespace, host: Host) -> InstallOptions:
    if args.rollback:
        return InstallOptions(lan="", admin_url=None, code=None, source=Source())
    lan = ask(args.lan, "LAN interface for guests (e.g. br-lan)", "--lan")
    already = host.path("/var/lib/porchlight/agent/device-token").is_file()
    admin_url, code = args.admin_url, args.code
    if not args.no_enroll and not already:
        admin_url = ask(admin_url, "Admin URL (e.g. https://admin.example.com)", "--admin-url")
        code = ask(code, "Enrollment code", "--code (or --no-enroll)")
    source = Source(wheel=args.wheel, wheelhouse=args.wheelhouse)
    tls = tls_options(args.portal_name, args.tls_cert, args.tls_key)
    if tls is None:  # a re-run without the flags keeps the HTTPS portal an earlier run set up
        tls = installed_tls(host, read_record(host).get("portal_name"))
    return InstallOptions(
        lan=lan,
        admin_url=admin_url,
        code=None if args.no_enroll else code,
        source=source,
        dhcp_range=args.dhcp_range,
        guests=args.guests if args.guests is not None else read_record(host).get("guests"),
        metrics_port=args.metrics_port or read_record(host).get("metrics_port"),
        wan=args.wan,
        insecure=args.insecure,
        min_free_mb=args.min_free_mb,
        tls=tls,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["image"]:  # deploy/build-image
        from .image_build import main as build_image

        return build_image(argv[1:])
    if argv[:1] == ["firstboot"]:  # porchlight-firstboot.service, in a flashed image
        from .firstboot import main as firstboot

        return firstboot(argv[1:])
    if argv[:1] == ["growroot"]:  # porchlight-growroot.service, in a Raspberry Pi image
        from .growroot import main as growroot

        return growroot(argv[1:])
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.dry_run else logging.INFO
    logging.basicConfig(level=level, format="==> %(message)s", stream=sys.stdout)
    prog = f"{args.command}-router"
    if os.geteuid() != 0:
        print(f"{prog}: run as root (sudo {prog} ...)", file=sys.stderr)
        return 1
    host = Host(Path(args.root), live_sysctl=args.live_sysctl)
    if not host.root.is_dir():
        print(f"{prog}: --root {args.root} is not a directory", file=sys.stderr)
        return 1
    lock = os.open(host.root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{prog}: another install, upgrade or uninstall is running", file=sys.stderr)
            return 1
        if args.command == "install" and args.stage_only:
            return run_stage(host, Source(wheel=args.wheel, wheelhouse=args.wheelhouse))
        if args.command == "install":
            opts = install_options(args, host)
            return run_install(host, opts, args.dry_run, args.rollback)
        if args.command == "upgrade":
            source = Source(wheel=args.wheel, wheelhouse=args.wheelhouse)
            return run_upgrade(host, source, args.dry_run, args.min_free_mb)
        return run_uninstall(host, args.keep_data, args.keep_packages, args.dry_run)
    except DeployError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        if args.command == "install" and not args.dry_run:
            print(f"{prog}: nothing was changed.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; run it again to complete or --rollback", file=sys.stderr)
        return 130
    finally:
        os.close(lock)


if __name__ == "__main__":
    sys.exit(main())
