"""`porchlight admin backup` / `restore`: a round trip on SQLite and PostgreSQL
through the real CLI, and refusals that keep the database as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.db import make_engine
from porchlight.admin.migrate import upgrade
from porchlight.cli import main


def tenant_slugs(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(sa.select(schema.tenants.c.slug)).scalars())
    finally:
        engine.dispose()


def add_tenant(url: str, slug: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                schema.tenants.insert().values(slug=slug, name=slug, created_at=datetime.now(UTC))
            )
    finally:
        engine.dispose()


def fresh(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def round_trip(url: str, backup_file, capsys) -> None:
    fresh(url)
    add_tenant(url, "cafe-saigon")
    assert main(["admin", "backup", str(backup_file), "--database-url", url]) == 0
    assert oct(backup_file.stat().st_mode & 0o777) == "0o600"
    add_tenant(url, "after-backup")
    # without --yes nothing happens
    assert main(["admin", "restore", str(backup_file), "--database-url", url]) == 2
    assert "--yes" in capsys.readouterr().err
    assert tenant_slugs(url) == ["after-backup", "cafe-saigon"]
    assert main(["admin", "restore", str(backup_file), "--database-url", url, "--yes"]) == 0
    assert tenant_slugs(url) == ["cafe-saigon"]
    # an existing file is not overwritten by accident
    assert main(["admin", "backup", str(backup_file), "--database-url", url]) == 2


def test_sqlite_round_trip(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/admin.db"
    round_trip(url, tmp_path / "admin.backup", capsys)
    saved = list(tmp_path.glob("admin.db.before-restore-*"))
    assert len(saved) == 1  # the database as it was before the restore
    assert "after-backup" in tenant_slugs(f"sqlite:///{saved[0]}")


def test_sqlite_backup_is_online_while_a_writer_holds_the_database(tmp_path):
    url = f"sqlite:///{tmp_path}/admin.db"
    fresh(url)
    add_tenant(url, "one")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("BEGIN"))
            conn.execute(
                schema.tenants.insert().values(slug="open", name="o", created_at=datetime.now(UTC))
            )
            out = tmp_path / "b.db"
            assert main(["admin", "backup", str(out), "--database-url", url]) == 0
            conn.execute(sa.text("ROLLBACK"))
    finally:
        engine.dispose()
    assert tenant_slugs(f"sqlite:///{out}") == ["one"]


def test_restore_refuses_files_that_are_not_backups(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/admin.db"
    fresh(url)
    add_tenant(url, "kept")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["admin", "restore", str(junk), "--database-url", url, "--yes"]) == 1
    assert "not a SQLite database" in capsys.readouterr().err
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    assert main(["admin", "restore", str(other), "--database-url", url, "--yes"]) == 1
    assert "not a Porchlight admin database" in capsys.readouterr().err
    assert tenant_slugs(url) == ["kept"]


def _pg_tools_match_server(url: str) -> bool:
    if shutil.which("pg_dump") is None:
        return False
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            server = conn.execute(sa.text("SHOW server_version_num")).scalar_one()
    finally:
        engine.dispose()
    client = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True, timeout=30)
    major = client.stdout.split()[-1].split(".")[0]
    return int(major) >= int(server) // 10000


@pytest.mark.pg
def test_postgresql_round_trip(tmp_path, capsys):
    base = os.environ["PORCHLIGHT_TEST_PG_URL"]
    if not _pg_tools_match_server(base):
        pytest.skip("pg_dump is older than the server")
    name = f"porchlight_backup_{uuid.uuid4().hex[:8]}"
    admin_engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        round_trip(url, tmp_path / "admin.pgdump", capsys)
        assert (tmp_path / "admin.pgdump").read_bytes()[:5] == b"PGDMP"
        # the password never appears on a command line: it goes through PGPASSWORD
        from porchlight.admin.backup import _pg_env, database_url

        env = _pg_env(database_url(url))
        assert env["PGDATABASE"] == name and env["PGPASSWORD"] == "porchlight"
    finally:
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()
