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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every part's subcommands, or with `only` that part's alone (the others keep their
    one-line help): `porchlight agent status` need not import the admin's web stack."""
    parser = argparse.ArgumentParser(
        prog="porchlight", description="Captive-portal Wi-Fi hotspot for venues."
    )
    parser.add_argument("--version", action="version", version=f"porchlight {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="part", metavar="PART")
    for name, (module_name, help_text) in PARTS.items():
        part = sub.add_parser(name, help=help_text, description=help_text)
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # extras not installed on this box
            missing = exc.name or str(exc)
            part.set_defaults(_missing=(name, missing))
            continue
        module.register(part)
    return parser


def _part_named(argv: Sequence[str]) -> str | None:
    """The PART word of a command line (None before it: `--help`, `--version`, nothing)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in PARTS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_part_named(words) or "")
    args = parser.parse_args(words)
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
