"""Shared set-up for the import/export benchmarks: a migrated SQLite admin database."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.db import make_engine
from porchlight.admin.migrate import upgrade

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def fresh_db(path: Path) -> sa.Engine:
    for old in path.parent.glob(path.name + "*"):
        old.unlink()
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            schema.tenants.insert().values(id=1, slug="bench", name="Bench", created_at=NOW)
        )
        conn.execute(
            schema.locations.insert().values(
                id=1, tenant_id=1, name="Q1", created_at=NOW, updated_at=NOW
            )
        )
    return engine


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(script: Path, *args: str) -> str:
    """Run one measured case in a fresh process, so its peak RSS is its own."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, str(script), "--case", *args], capture_output=True, text=True, check=True
    ).stdout.strip()
    return f"{out}  (process wall {time.perf_counter() - started:.1f} s)"
