"""`porchlight agent ...` subcommands.

COMMANDS lists each area's `register(subparsers)`, which adds its own
subcommands (with `set_defaults(func=handler)`); areas add their own line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from porchlight.agent import commands, sync_commands

COMMANDS: list[Callable[[Any], None]] = [commands.register, sync_commands.register]


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register_commands in COMMANDS:
        register_commands(sub)
