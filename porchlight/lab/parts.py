"""Which parts of Porchlight this installation has, and how the lab starts them.

The agent, portal and admin register their subcommands with the `porchlight`
command; the lab asks the parser which exist, so a part that has not landed
yet is reported as "not available yet" instead of failing obscurely.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from porchlight.lab.commands import LabError


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def available_commands() -> dict[str, set[str]]:
    """{"agent": {"run", "enroll", ...}, "portal": {...}, "admin": {...}}."""
    from porchlight.cli import build_parser

    found: dict[str, set[str]] = {}
    for part, part_parser in _subcommands(build_parser()).items():
        if part_parser.get_default("_missing"):
            found[part] = set()
        else:
            found[part] = set(_subcommands(part_parser))
    return found


def missing(commands: dict[str, set[str]], part: str, needed: tuple[str, ...]) -> list[str]:
    have = commands.get(part, set())
    return [f"{part} {name}" for name in needed if name not in have]


def parse_json_output(text: str, what: str) -> dict[str, Any]:
    """The JSON object a `--json` command printed (its last JSON line if it logged too)."""
    text = text.strip()
    candidates = [text] + [line for line in reversed(text.splitlines()) if line.startswith("{")]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise LabError(f"{what} did not print a JSON object: {text[:200]!r}")


def find_value(data: Any, keys: tuple[str, ...]) -> Any:
    """The first value under any of `keys`, searching nested objects breadth-first."""
    queue = [data]
    while queue:
        item = queue.pop(0)
        if isinstance(item, dict):
            for key in keys:
                if key in item and not isinstance(item[key], dict | list):
                    return item[key]
            queue.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            queue.extend(item)
    return None
