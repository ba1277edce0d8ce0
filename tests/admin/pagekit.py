"""Every GET page of the admin as URLs, for tests that fetch them all (no 500 anywhere)."""

from __future__ import annotations

import re
from typing import Any

SKIP_PREFIXES = ("/api/", "/static/", "/locations/assets/")
_ARG = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def page_urls(app: Any, ids: dict[str, int]) -> list[str]:
    """The app's GET routes with their ``<int:name>`` parts filled from `ids`.

    Routes whose parts are not all in `ids` are left out, and so are the
    router API, static files and downloads of files (exports by job id).
    """
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.rule.startswith(SKIP_PREFIXES):
            continue
        names = _ARG.findall(rule.rule)
        if any(name not in ids for name in names):
            continue
        urls.append(_ARG.sub(lambda m: str(ids[m.group(1)]), rule.rule))
    return sorted(set(urls))
