"""Fixtures for import/export tests: a migrated SQLite database with one tenant."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.db import make_engine
from porchlight.admin.migrate import upgrade

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def seed_tenant(engine: sa.Engine, slug: str = "cafe") -> dict[str, int]:
    with engine.begin() as conn:
        tenant_id = conn.execute(
            schema.tenants.insert().values(slug=slug, name="Café Sài Gòn", created_at=NOW)
        ).inserted_primary_key[0]
        ids = {"tenant": tenant_id}
        for name in ("Quận 1", "Thảo Điền"):
            ids[name] = conn.execute(
                schema.locations.insert().values(
                    tenant_id=tenant_id, name=name, created_at=NOW, updated_at=NOW
                )
            ).inserted_primary_key[0]
        for role in ("owner", "manager", "viewer"):
            ids[role] = conn.execute(
                schema.users.insert().values(
                    tenant_id=tenant_id,
                    email=f"{role}@{slug}.example",
                    name=role.title(),
                    password_hash="x",
                    role=role,
                    created_at=NOW,
                )
            ).inserted_primary_key[0]
        conn.execute(
            schema.user_locations.insert().values(user_id=ids["manager"], location_id=ids["Quận 1"])
        )
    return ids


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def engine(_migrated_template: Path, tmp_path: Path):
    path = tmp_path / "admin.db"
    path.write_bytes(_migrated_template.read_bytes())
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def ids(engine) -> dict[str, int]:
    return seed_tenant(engine)
