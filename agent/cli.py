"""`porchlight agent ...` subcommands.

Each module in COMMAND_MODULES exposes `register(subparsers)` adding its own
subcommands (with `set_defaults(func=handler)`); areas add their own line.
"""

from __future__ import annotations

import argparse
import importlib

COMMAND_MODULES: list[str] = ["porchlight.agent.commands", "porchlight.agent.sync"]


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
