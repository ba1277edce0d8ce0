"""Changes with their undo, written ahead to disk so a killed run can be undone.

Every change is recorded *before* it is made (the record says how to put the
host back), and the journal is flushed to disk after each record. A run that
fails undoes its records in reverse; a run that was killed leaves the journal,
which the next run either completes (the steps are idempotent) or rolls back.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import ip_forward
from .host import JOURNAL, DeployError, Host, remove_path

log = logging.getLogger(__name__)


def write_atomic(path: Path, data: bytes, mode: int = 0o644, gid: int | None = None) -> None:
    """Write `data` to `path` through a temporary file and a rename (group `gid` if given)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode & 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if gid is not None:
            os.chown(tmp, -1, gid)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None:  # a failed write() names no file: say which
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


class Journal:
    def __init__(self, host: Host, dry_run: bool = False) -> None:
        self.host = host
        self.dry_run = dry_run
        self.records: list[dict[str, Any]] = []
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.changes: list[str] = []  # what this run changed (or would change), in words

    @property
    def file(self) -> Path:
        return self.host.path(JOURNAL)

    def load_unfinished(self) -> bool:
        """Take over the records of a run that did not finish; True if there was one."""
        if not self.file.exists():
            return False
        data = json.loads(self.file.read_text())
        self.records = list(data.get("records", []))
        self.started_at = data.get("started_at", self.started_at)
        return True

    def flush(self) -> None:
        if self.dry_run or not self.file.parent.is_dir():
            return
        body = {"started_at": self.started_at, "records": self.records}
        write_atomic(self.file, json.dumps(body, indent=1).encode(), 0o600)

    def finish(self) -> None:
        """The run succeeded: nothing to undo any more."""
        self.records = []
        if not self.dry_run:
            self.file.unlink(missing_ok=True)

    # -- changes, each recorded before it is made -----------------------------

    def note(self, words: str) -> bool:
        """Say what is about to change; False in a dry run (then nothing changes)."""
        self.changes.append(words)
        log.info("%s%s", "would " if self.dry_run else "", words)
        return not self.dry_run

    def record(self, kind: str, **fields: Any) -> None:
        self.records.append({"kind": kind, **fields})
        try:
            self.flush()
        except OSError:  # not on disk (a full disk): the change will not be made
            self.records.pop()
            raise

    def mkdir(self, target: str, mode: int = 0o755) -> None:
        path = self.host.path(target)
        if path.is_dir():
            return
        if self.note(f"create directory {target}"):
            top = path  # undo removes the topmost directory this creates
            while not top.parent.exists():
                top = top.parent
            self.record("dir", path=str(top))
            path.mkdir(mode=mode, parents=True)
            os.chmod(path, mode)
            self.flush()

    def write(self, target: str, data: bytes, mode: int = 0o644, group: str | None = None) -> None:
        path = self.host.path(target)
        old = path.read_bytes() if path.is_file() else None
        gid = self.host.group_id(group) if group else None
        if old == data and (path.stat().st_mode & 0o7777) == mode:
            if gid is None or path.stat().st_gid == gid:
                return
        if self.note(f"{'update' if old is not None else 'write'} {target}"):
            saved = base64.b64encode(old).decode() if old is not None else None
            stat = path.stat() if old is not None else None
            self.record(
                "file",
                path=str(path),
                old=saved,
                mode=mode,
                old_mode=stat.st_mode & 0o7777 if stat else None,
                gid=stat.st_gid if stat else None,
            )
            write_atomic(path, data, mode, gid)

    def symlink(self, target: str, points_to: str) -> None:
        path = self.host.path(target)
        old = os.readlink(path) if path.is_symlink() else None
        if old == points_to:
            return
        if self.note(f"point {target} at {points_to}"):
            self.record("symlink", path=str(path), old=old)
            tmp = path.with_name(f".{path.name}.new")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(points_to)
            os.replace(tmp, path)

    def tree(self, target: str, words: str) -> bool:
        """A directory tree this run creates (a venv); True if the caller should build it."""
        if self.note(words):
            self.record("dir", path=str(self.host.path(target)))
            return True
        return False

    # -- undo -----------------------------------------------------------------

    def rollback(self) -> list[str]:
        """Undo every record, newest first; returns the problems met (if any)."""
        problems = []
        for rec in reversed(self.records):
            try:
                self._undo(rec)
            except (OSError, DeployError) as exc:
                problems.append(f"undo {rec['kind']} {rec.get('path') or rec.get('name')}: {exc}")
        self.records = []
        if self.host.systemd_running:  # unit files may have gone or changed back
            self.host.systemctl("daemon-reload", check=False)
        if not problems:
            self.file.unlink(missing_ok=True)
        else:
            self.flush()
        return problems

    def _undo(self, rec: dict[str, Any]) -> None:
        kind = rec["kind"]
        path = Path(rec.get("path", "/nonexistent"))
        if kind == "dir":
            remove_path(path)
        elif kind == "file":
            if rec["old"] is None:
                path.unlink(missing_ok=True)
            elif not path.is_file() or path.read_bytes() != base64.b64decode(rec["old"]):
                mode = rec.get("old_mode") or rec["mode"]
                write_atomic(path, base64.b64decode(rec["old"]), mode, rec.get("gid"))
        elif kind == "symlink":
            path.unlink(missing_ok=True)
            if rec["old"] is not None:
                path.symlink_to(rec["old"])
        elif kind == "user":
            self.host.remove_system_user(rec["name"])
        elif kind == "packages":
            self.host.apt_remove(rec["names"])
        elif kind == "units-enabled":
            self.host.systemctl("disable", *rec["units"], check=False)
        elif kind == "units-started":
            if self.host.systemd_running:
                self.host.systemctl("stop", *rec["units"], check=False)
            if rec.get("new_gate"):  # never a half-configured gate left in the kernel
                self.host.nft_delete_table("inet", "porchlight")
        elif kind == "sysctl":  # net.ipv4.ip_forward, the only one
            ip_forward.set_live(rec["old"])
        elif kind == "enrolled":
            for name in ("device-token", "admin.json"):
                (path / name).unlink(missing_ok=True)
        else:
            raise DeployError(f"unknown journal record {kind!r}")
        log.info("undid %s %s", kind, rec.get("path") or rec.get("name") or rec.get("units"))
