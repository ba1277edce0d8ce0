"""Fixtures for the import/export tests: the admin test fixtures, reused.

`app`, `engine`, `factory`, `world` (tenant "acme", locations Q1/Q3, owner,
manager of Q1, viewer), `client_as`, `csrf` come from tests/admin/conftest.py;
``@pytest.mark.both_dbs`` runs a test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent.parent / "admin" / "conftest.py"
_spec = importlib.util.spec_from_file_location("porchlight_admin_test_fixtures", _PATH)
assert _spec and _spec.loader
admin_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = admin_fixtures
_spec.loader.exec_module(admin_fixtures)

pytest_generate_tests = admin_fixtures.pytest_generate_tests
db_kind = admin_fixtures.db_kind
_sqlite_template = admin_fixtures._sqlite_template
_pg_server_url = admin_fixtures._pg_server_url
db_url = admin_fixtures.db_url
app = admin_fixtures.app
engine = admin_fixtures.engine
factory = admin_fixtures.factory
world = admin_fixtures.world
client_as = admin_fixtures.client_as
csrf = admin_fixtures.csrf
password = admin_fixtures.password
sign_in = admin_fixtures.sign_in
csrf_token = admin_fixtures.csrf_token

FIXTURES = Path(__file__).resolve().parent / "files"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_dbs: run the test on SQLite and on PostgreSQL")
