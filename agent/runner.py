"""One way to run an outside program: argv list, timeout, typed error.

Adapters (`nft`, `conntrack`) take a `Runner` so unit tests can inject a
recording fake and check the argv without root.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Sequence

from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

Runner = Callable[[Sequence[str], float, "str | None"], str]


class CommandError(PorchlightError):
    """An outside program was missing, failed or timed out."""

    def __init__(
        self, argv: Sequence[str], message: str, *, returncode: int | None = None, stderr: str = ""
    ) -> None:
        super().__init__(f"{argv[0]}: {message}")
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr


def run(argv: Sequence[str], timeout: float = 10.0, stdin: str | None = None) -> str:
    """Run `argv` (never a shell); return stdout; raise `CommandError` on any failure."""
    if not argv or not all(isinstance(part, str) for part in argv):
        raise ValueError("argv must be a non-empty list of strings")
    try:
        done = subprocess.run(
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise CommandError(argv, "not installed (apt-get install nftables conntrack)") from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(argv, f"timed out after {timeout:g}s") from exc
    if done.returncode != 0:
        stderr = done.stderr.strip()
        first = stderr.splitlines()[0] if stderr else f"exit status {done.returncode}"
        raise CommandError(argv, first, returncode=done.returncode, stderr=stderr)
    return done.stdout
