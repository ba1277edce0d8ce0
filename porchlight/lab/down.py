"""`porchlight lab down`: undo whatever the lab record lists, even a half-made lab.

Processes stop first (newest first), then the namespaces go (with anything
still running inside them: only the lab's own processes live there), then the
files. Each step is tried even when an earlier one failed; the record is kept
until everything is gone so a second `down` can finish the job.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from porchlight.lab import processes, topology
from porchlight.lab.commands import LabError, check_host
from porchlight.lab.state import STATE_FILE, LabState, load

log = logging.getLogger(__name__)


def _removable(path: Path, state: LabState) -> bool:
    """Only paths inside the state dir or the lab's own /etc/netns entries."""
    state_dir = Path(state.state_dir)
    if path == topology.NETNS_ETC:
        return True
    if path.parent == topology.NETNS_ETC and path.name.startswith(state.prefix + "-"):
        return True
    return state_dir in path.parents


def _remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        if path == topology.NETNS_ETC:
            try:
                path.rmdir()  # only if nothing else lives there
            except OSError:
                pass
            return
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def down(state_dir: str) -> LabState:
    state = load(state_dir)
    if state is None:
        raise LabError(
            f"no lab is up (nothing recorded in {state_dir})",
            hint="start one with 'porchlight lab up'",
        )
    check_host()
    errors: list[str] = []
    for record in reversed(state.processes):
        try:
            processes.stop(record)
        except OSError as exc:
            errors.append(f"stopping {record.name}: {exc}")
    for name in reversed(state.namespaces):
        try:
            topology.remove_namespace(name)
        except LabError as exc:
            errors.append(str(exc))
    for raw in reversed(state.paths):
        path = Path(raw)
        if not _removable(path, state):
            errors.append(f"refusing to remove {path}: not the lab's")
            continue
        try:
            _remove_path(path)
        except OSError as exc:
            errors.append(f"removing {path}: {exc.strerror}")
    if errors:
        state.step = "down failed"
        state.save()
        raise LabError(errors[0], hint="fix that, then run 'porchlight lab down' again")
    root = Path(state.state_dir)
    for leftover in (STATE_FILE + ".tmp", STATE_FILE):
        (root / leftover).unlink(missing_ok=True)
    if state.created_state_dir:
        shutil.rmtree(root, ignore_errors=True)
    return state
