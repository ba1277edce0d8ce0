"""In Chromium: a manager turns LINE on, names the LINE OA, sees it in the preview, saves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_locations_browser import live, page  # noqa: F401 (fixtures)

from porchlight.admin import schema

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "admin"


def test_line_account_in_the_settings_and_the_preview(
    page: Any,  # noqa: F811
    live: str,  # noqa: F811
    world: Any,
    engine: Any,
) -> None:
    page.goto(f"{live}/locations/{world.q1}/guest-page")
    page.locator(".lang-btn[data-lang=th]").click()
    page.check("input[name=channel_line]")
    with page.expect_response(lambda r: "/preview" in r.url):
        page.fill("input[name=line_oa]", "@porchcafe")
    preview = page.frame_locator("iframe[name=guest-preview]")
    preview.get_by_text("ดำเนินการต่อด้วย LINE").wait_for()
    preview.get_by_text("LINE จะถามว่าคุณต้องการเพิ่ม").wait_for()
    page.locator("#chat-accounts").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "guest-page-settings-line.png"))
    page.get_by_role("button", name="Save as a new version").click()
    page.get_by_text("Saved as version 1").wait_for()
    with engine.connect() as conn:
        saved = conn.execute(sa.select(schema.portal_settings.c.settings)).scalar_one()
    assert "line" in saved["portal"]["channels"]
    assert saved["portal"]["chat"] == {"line_oa": "@porchcafe", "line_bot_prompt": "aggressive"}
