"""Fixtures for the lab's tests: a throwaway state dir whose lab is always taken
down (namespaces, processes, files) afterwards, even when the test fails."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from labkit import namespaces

from porchlight.lab import down as lab_down
from porchlight.lab import state as lab_state
from porchlight.lab.commands import LabError


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A not-yet-existing state dir under a directory others may traverse
    (the portal runs as nobody); the lab in it is taken down afterwards."""
    base = Path(tempfile.mkdtemp(prefix="porchlight-labtest-", dir="/tmp"))
    base.chmod(0o711)
    path = base / "state"
    try:
        yield path
    finally:
        recorded = lab_state.load(str(path)) if (path / lab_state.STATE_FILE).exists() else None
        if recorded is not None:
            try:
                lab_down.down(str(path))
            except LabError:
                pass
            for name in recorded.namespaces:  # belt and braces: never leave a namespace
                if name in namespaces():
                    subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)
        shutil.rmtree(base, ignore_errors=True)
