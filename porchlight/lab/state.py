"""The lab's record of what it made: namespaces, processes, files.

`lab up` writes the record *before* each step (a namespace is recorded before
it is created, a file before it is written), so `lab down` can undo a lab whose
`up` crashed halfway. The record is one JSON file, replaced atomically.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

DEFAULT_STATE_DIR = "/var/lib/porchlight-lab"
STATE_FILE = "lab.json"
FORMAT = 1


class LabStateError(PorchlightError):
    """The state directory holds no lab, or one we cannot read."""


@dataclass
class ProcessRecord:
    name: str
    argv: list[str]
    log: str
    netns: str | None = None
    pid: int | None = None
    start_ticks: int | None = None  # /proc/<pid>/stat field 22: guards against PID reuse

    def alive(self) -> bool:
        if self.pid is None:
            return False
        ticks = process_start_ticks(self.pid)
        return ticks is not None and ticks == self.start_ticks


@dataclass
class LabState:
    state_dir: str
    prefix: str
    created_state_dir: bool = False
    complete: bool = False
    step: str = ""
    namespaces: list[str] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)
    # Paths the lab made, removed by `down` in reverse order (dirs recursively).
    paths: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return Path(self.state_dir) / STATE_FILE

    def save(self) -> None:
        data = asdict(self)
        data["format"] = FORMAT
        tmp = self.path.with_name(STATE_FILE + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def begin(self, step: str) -> None:
        self.step = step
        self.save()

    def add_namespace(self, name: str) -> None:
        self.namespaces.append(name)
        self.save()

    def add_path(self, path: Path | str) -> Path:
        path = Path(path)
        if str(path) not in self.paths:
            self.paths.append(str(path))
            self.save()
        return path

    def process(self, name: str) -> ProcessRecord | None:
        for record in self.processes:
            if record.name == name:
                return record
        return None


def new_prefix() -> str:
    """A short unique namespace prefix, e.g. ``pl-3fa2c1``."""
    return "pl-" + secrets.token_hex(3)


def load(state_dir: str) -> LabState | None:
    """The lab recorded in `state_dir`, or None when there is none."""
    path = Path(state_dir) / STATE_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LabStateError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
        if data.pop("format", None) != FORMAT:
            raise ValueError("unknown format")
        data["processes"] = [ProcessRecord(**p) for p in data.get("processes", [])]
        return LabState(**data)
    except (ValueError, TypeError) as exc:
        raise LabStateError(
            f"{path} is not a lab record ({exc})",
            hint="remove the lab's namespaces by hand with 'ip netns del', then that file",
        ) from exc


def process_start_ticks(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces and parens: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie is not alive
        return None
    return int(fields[19])
