"""Reuse the admin fixtures (app on fresh SQLite, `world`, clients per role, `csrf`)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location(
    "porchlight_admin_test_fixtures", Path(__file__).parent.parent / "admin" / "conftest.py"
)
assert _spec and _spec.loader
_admin = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _admin
_spec.loader.exec_module(_admin)

for _name in dir(_admin):
    _value = getattr(_admin, _name)
    if type(_value).__name__ == "FixtureFunctionDefinition":
        globals()[_name] = _value

pytest_generate_tests = _admin.pytest_generate_tests
pytest_configure = _admin.pytest_configure
sign_in = _admin.sign_in
Factory = _admin.Factory
World = _admin.World

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token(client: Any, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def tok() -> Any:
    return token
