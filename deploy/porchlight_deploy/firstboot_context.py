"""What every first-boot step uses (firstboot.py, adoption.py).

`Context` (the root it works in and porchlight.txt), `run` a command,
`console` a line, `report` the answer into porchlight.txt, and `Problem`: what
stops a first boot, with the exit status porchlight-firstboot.service reads
(3 a problem only a person can fix, 1 worth retrying).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import image_layout as il
from .porchlight_txt import rewrite

FIX_BY_HAND = 3
RETRY = 1


class Problem(Exception):
    def __init__(self, message: str, exit_code: int = FIX_BY_HAND) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass
class Context:
    root: Path = Path("/")
    dhcp_wait: float = 45.0

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def txt(self) -> Path:
        return self.path(il.CONFIG_MOUNT) / il.CONFIG_FILE


def console(message: str) -> None:
    print(f"porchlight: {message}", flush=True)


def run(argv: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)


def report(ctx: Context, status: str, message: str, erase_code: bool = False) -> None:
    """The answer into porchlight.txt, then onto the console.

    Written so that pulling the plug once the console shows it leaves the new
    file whole on the card (and before, the old one): a temporary file in the
    same folder, synced, renamed over porchlight.txt, then the folder synced
    (on vfat that writes the directory entry and the FAT). A failed write
    leaves porchlight.txt as it was and no temporary file."""
    try:
        old = ctx.txt.read_bytes()
    except OSError:
        old = b""
    tmp = ctx.txt.with_name(il.CONFIG_FILE + ".new")
    try:
        with tmp.open("wb") as handle:
            handle.write(rewrite(old, status, message, erase_code))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, ctx.txt)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        console(f"{status}: {message}")
        console(f"could not write {ctx.txt}: {exc.strerror or exc}")
        return
    sync_folder(ctx.txt.parent)
    console(f"{status}: {message}")


def sync_folder(folder: Path) -> None:
    """The folder's entries (a rename into it) on disk; os.sync() where it cannot be fsynced."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        os.sync()
