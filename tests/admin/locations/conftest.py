"""Location-page helpers; the admin fixtures (app, `world`, clients per role) are inherited."""

from __future__ import annotations

import re
from typing import Any

import pytest

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token(client: Any, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def tok() -> Any:
    return token
