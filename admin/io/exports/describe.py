"""What an export holds, in words, for its row on the Downloads page.

"3 selected", "164 matching the filters: Q3 · tags vip", "all
20,005" — the scope with the rows the file holds (or, before it is written,
the rows selected), the filters in the list's own words, and the format.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from porchlight.admin.customers.filter_words import phrases
from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.i18n import fmt_number
from porchlight.admin.io.exports.rows import filters_from_query_string


def filter_words(
    filters: CustomerFilters, locations: dict[int, str], groups: dict[int, str]
) -> str:
    """The filters in words ("VIP · Q3 · came by Zalo"), as the audit log names them."""
    return " · ".join(phrases(filters, locations, groups))


def describe(job: Any, locations: dict[int, str], groups: dict[int, str]) -> str:
    """The scope, its row count and the filters of one export job."""
    params = job.params or {}
    result = job.result or {}
    scope = params.get("scope", "all")
    rows = result.get("rows") if job.status == "done" else None
    if scope == "selected":
        return _(
            "%(n)s selected", n=fmt_number(rows if rows is not None else params.get("selected", 0))
        )
    if scope == "filtered":
        words = filter_words(
            filters_from_query_string(params.get("filters", "")), locations, groups
        )
        head = (
            _("%(n)s matching the filters", n=fmt_number(rows))
            if rows is not None
            else _("All matching the filters")
        )
        return f"{head}: {words}" if words else head
    return _("all %(n)s", n=fmt_number(rows)) if rows is not None else _("All customers")
