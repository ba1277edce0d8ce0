"""The `porchlight` command: one line for errors, every subcommand documented."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from porchlight.cli import build_parser, main

README = Path(__file__).resolve().parent.parent / "README.md"


def _subcommands(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(f"{prefix} {name}")
                found.extend(_subcommands(sub, f"{prefix} {name}"))
    return found


def test_every_command_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    commands = _subcommands(build_parser(), "porchlight")
    leaves = [c for c in commands if c.count(" ") >= 2]  # porchlight PART COMMAND
    missing = [c for c in leaves if c not in text]
    assert not missing, f"undocumented in README.md: {missing}"


def test_no_part_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "PART" in capsys.readouterr().out


def test_version():
    out = subprocess.run(
        [sys.executable, "-m", "porchlight.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("porchlight ")


@pytest.mark.parametrize("part", ["agent", "portal", "admin", "lab"])
def test_each_part_has_help(part, capsys):
    with pytest.raises(SystemExit) as info:
        main([part, "--help"])
    assert info.value.code == 0
    assert part in capsys.readouterr().out
