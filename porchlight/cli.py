"""The `porchlight` command: `porchlight agent|portal|admin|lab ...`.

Each part registers its own subcommands through `register(subparsers)`, imported
lazily so a router without the admin extras never imports admin code (and vice
versa). A `PorchlightError` becomes one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from porchlight import __version__
from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

# name -> (module that provides register(), one-line help)
PARTS: dict[str, tuple[str, str]] = {
    "agent": ("porchlight.agent.cli", "router agent: gate, sessions, sync (root)"),
    "portal": ("porchlight.portal.cli", "guest login portal (unprivileged)"),
    "admin": ("porchlight.admin.cli", "venue admin web app, worker, import/export"),
    "lab": ("porchlight.lab.cli", "venue lab in network namespaces (root)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="porchlight", description="Captive-portal Wi-Fi hotspot for venues."
    )
    parser.add_argument("--version", action="version", version=f"porchlight {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="part", metavar="PART")
    for name, (module_name, help_text) in PARTS.items():
        part = sub.add_parser(name, help=help_text, description=help_text)
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # extras not installed on this box
            missing = exc.name or str(exc)
            part.set_defaults(_missing=(name, missing))
            continue
        module.register(part)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.part is None:
        parser.print_help()
        return 2
    missing = getattr(args, "_missing", None)
    if missing:
        part, module = missing
        print(
            f"porchlight: '{part}' needs '{module}', which is not installed "
            f"(install porchlight[{'admin' if part == 'admin' else 'router'}])",
            file=sys.stderr,
        )
        return 2
    handler = getattr(args, "func", None)
    if handler is None:
        parser.parse_args([args.part, "--help"])
        return 2
    try:
        result = handler(args)
    except PorchlightError as exc:
        print(f"porchlight: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
