"""The guest's "My data" page: what the venue's router keeps, and the two buttons."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from porchlight.guest_page.i18n import translate
from porchlight.guest_page.page import _common, _environment
from porchlight.privacy_law import ERASURE_DEADLINE_HOURS


def render_my_data(
    config: Mapping[str, Any],
    lang: str,
    data: Mapping[str, Any] | None,
    *,
    csrf_token: str = "",
    notice: str | None = None,
    logo_src: str | None = None,
    base_path: str = "/",
) -> str:
    """`data` is the agent's ``my_data`` answer (None: nothing kept); `notice` translated."""
    context = _common(config, lang, logo_src, base_path)
    context.update(
        page_title=translate(context["lang"], "My data"),
        data=data,
        csrf_token=csrf_token,
        notice=notice,
        hours=ERASURE_DEADLINE_HOURS,
    )
    return _environment(context["lang"]).get_template("my_data.html").render(context)
