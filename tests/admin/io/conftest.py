"""Fixtures for the import/export tests: the admin fixtures, inherited.

`app`, `engine`, `factory`, `world` (tenant "acme", locations Q1/Q3, owner,
manager of Q1, viewer), `client_as`, `csrf` come from tests/admin/conftest.py;
``@pytest.mark.both_dbs`` runs a test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "files"
