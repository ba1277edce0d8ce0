"""`porchlight admin backup FILE` and `porchlight admin restore FILE --yes`.

SQLite: SQLite's online backup API (a consistent copy while the admin runs),
checked with `PRAGMA integrity_check`. PostgreSQL: `pg_dump --format=custom`
and `pg_restore --clean --single-transaction`, argv only, the password passed
in the environment (PGPASSWORD), never on the command line. The database is
``--database-url`` or ``PORCHLIGHT_ADMIN_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from porchlight.errors import PorchlightError, UsageError

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


def database_url(given: str | None) -> URL:
    if given:
        raw = given
    else:
        from porchlight.admin.config import AdminConfig

        raw = AdminConfig.from_env(require_secret=False).DATABASE_URL
    try:
        return make_url(raw)
    except Exception as exc:  # noqa: BLE001 (sqlalchemy raises ArgumentError and others)
        raise UsageError(f"'{raw}' is not a database URL") from exc


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise UsageError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _check_sqlite(path: Path) -> None:
    """Refuse anything that is not a healthy SQLite file with the admin's schema."""
    with path.open("rb") as handle:
        if handle.read(16) != SQLITE_MAGIC:
            raise PorchlightError(f"{path} is not a SQLite database")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    if result != "ok":
        raise PorchlightError(f"{path} is damaged: {result}")
    if "alembic_version" not in tables:
        raise PorchlightError(f"{path} is not a Porchlight admin database (no alembic_version)")


def _sqlite_copy(source: Path, target: Path) -> None:
    """Online backup from `source` into `target` (page by page, consistent)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        src.backup(dst, pages=1024)
    finally:
        dst.close()
        src.close()


def backup_sqlite(url: URL, out: Path) -> None:
    source = _sqlite_path(url)
    if not source.is_file():
        raise PorchlightError(f"no database at {source}")
    tmp = out.with_name(f".{out.name}.partial")
    tmp.unlink(missing_ok=True)
    try:
        _sqlite_copy(source, tmp)
        conn = sqlite3.connect(tmp)
        conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        conn.close()
        _check_sqlite(tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    except (OSError, sqlite3.Error) as exc:
        tmp.unlink(missing_ok=True)
        raise PorchlightError(f"backup of {source} failed: {exc}") from exc


def restore_sqlite(url: URL, backup: Path) -> Path | None:
    """Restore `backup` over the database; returns where the old one was saved."""
    _check_sqlite(backup)
    target = _sqlite_path(url)
    saved = None
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        saved = target.with_name(f"{target.name}.before-restore-{stamp}")
        _sqlite_copy(target, saved)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _sqlite_copy(backup, target)
    except (OSError, sqlite3.Error) as exc:
        raise PorchlightError(
            f"restore into {target} failed: {exc}",
            hint=f"the database as it was is in {saved}" if saved else None,
        ) from exc
    return saved


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value:
            env[key] = str(value)
    return env


def _run_pg(argv: list[str], url: URL, timeout: float) -> None:
    if shutil.which(argv[0]) is None:
        raise PorchlightError(
            f"{argv[0]} is not installed", hint="apt-get install postgresql-client"
        )
    try:
        proc = subprocess.run(
            argv, env=_pg_env(url), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise PorchlightError(f"{argv[0]} took longer than {timeout:.0f}s") from exc
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout or "no output").strip().splitlines()
        raise PorchlightError(f"{argv[0]} failed: {lines[-1] if lines else 'no output'}")


def backup_pg(url: URL, out: Path, timeout: float) -> None:
    tmp = out.with_name(f".{out.name}.partial")
    argv = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={tmp}"]
    try:
        _run_pg(argv, url, timeout)
        os.chmod(tmp, 0o600)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def restore_pg(url: URL, backup: Path, timeout: float) -> None:
    with backup.open("rb") as handle:
        if handle.read(5) != PG_MAGIC:
            raise PorchlightError(f"{backup} is not a pg_dump custom-format file")
    argv = [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={url.database}",
        str(backup),
    ]
    _run_pg(argv, url, timeout)


def _cmd_backup(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    out = Path(args.file)
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists", hint="pass --force to overwrite it")
    if url.get_backend_name() == "sqlite":
        backup_sqlite(url, out)
    elif url.get_backend_name() == "postgresql":
        backup_pg(url, out, args.timeout)
    else:
        raise UsageError(f"cannot back up a {url.get_backend_name()} database")
    print(f"backup written to {out} ({out.stat().st_size} bytes)")
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    url = database_url(args.database_url)
    backup = Path(args.file)
    if not backup.is_file():
        raise UsageError(f"no backup file at {backup}")
    if not args.yes:
        raise UsageError(
            f"restore replaces everything in {url.render_as_string(hide_password=True)}",
            hint="stop porchlight-admin and porchlight-admin-worker, then pass --yes",
        )
    if url.get_backend_name() == "sqlite":
        saved = restore_sqlite(url, backup)
        if saved:
            print(f"the database as it was is saved in {saved}")
    elif url.get_backend_name() == "postgresql":
        restore_pg(url, backup, args.timeout)
    else:
        raise UsageError(f"cannot restore a {url.get_backend_name()} database")
    print(f"restored {backup}; run 'porchlight admin migrate' if it came from an older version")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("backup", help="back up the admin database to FILE (online)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--database-url", help="default: $PORCHLIGHT_ADMIN_DATABASE_URL")
    p.add_argument("--force", action="store_true", help="overwrite FILE")
    p.add_argument("--timeout", type=float, default=3600, help="seconds for pg_dump")
    p.set_defaults(func=_cmd_backup)
    p = sub.add_parser("restore", help="replace the admin database with a backup FILE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--database-url", help="default: $PORCHLIGHT_ADMIN_DATABASE_URL")
    p.add_argument("--yes", action="store_true", help="yes, replace the database")
    p.add_argument("--timeout", type=float, default=3600, help="seconds for pg_restore")
    p.set_defaults(func=_cmd_restore)
