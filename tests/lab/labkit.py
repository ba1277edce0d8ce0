"""Helpers for the lab's tests (run the CLI, run a command in a namespace)."""

from __future__ import annotations

import os
import subprocess
import sys

PORCHLIGHT = [sys.executable, "-m", "porchlight.cli"]


def porchlight(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PORCHLIGHT, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def in_netns(
    netns: str, *argv: str, timeout: float = 30, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", netns, *argv],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def is_root() -> bool:
    return os.geteuid() == 0
