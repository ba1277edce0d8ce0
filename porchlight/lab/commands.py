"""Running outside programs for the lab: argv lists, a timeout, a typed error.

`run()` is the one place the lab calls `ip`, `nft`, `busybox` and friends; in a
namespace through `in_netns()`. It never uses a shell and never ignores an
exit code.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0


class LabError(PorchlightError):
    """A lab step failed; the message says which and what to do."""


def run(
    argv: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> str:
    """Run `argv`, return its stdout; raise `LabError` on failure or timeout."""
    log.debug("run: %s", " ".join(argv))
    try:
        done = subprocess.run(
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} is not installed", hint="run scripts/setup") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"'{' '.join(argv)}' did not finish within {timeout:.0f}s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        last = detail[-1] if detail else f"exit status {done.returncode}"
        raise LabError(f"'{' '.join(argv)}' failed: {last}")
    return done.stdout


def in_netns(netns: str, argv: Sequence[str]) -> list[str]:
    """`argv` to run inside network namespace `netns`."""
    return ["ip", "netns", "exec", netns, *argv]


def as_user(user: str, group: str, argv: Sequence[str]) -> list[str]:
    """`argv` run as `user`:`group` with no supplementary groups and no new privileges."""
    return [
        "setpriv",
        f"--reuid={user}",
        f"--regid={group}",
        "--clear-groups",
        "--no-new-privs",
        "--",
        *argv,
    ]


def porchlight_argv() -> list[str]:
    """How to start the `porchlight` command of this very installation."""
    script = Path(sys.executable).parent / "porchlight"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "porchlight.cli"]


def python_module_argv(module: str) -> list[str]:
    return [sys.executable, "-m", module]


REQUIRED_BINARIES: dict[str, str] = {
    "ip": "iproute2",
    "nft": "nftables",
    "dnsmasq": "dnsmasq-base",
    "busybox": "busybox",
    "setpriv": "util-linux",
}


def check_host() -> None:
    """Root and the binaries the lab needs, or a one-line `LabError`."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root (network namespaces, nftables)", hint="run it with sudo")
    for binary, package in REQUIRED_BINARIES.items():
        if shutil.which(binary) is None:
            raise LabError(
                f"{binary} is not installed",
                hint=f"run scripts/setup, or apt-get install {package}",
            )
