"""A customer list's filters in words, in the reader's language: "VIP, Chi nhánh 03".

`phrases(filters, locations, groups)` gives one short phrase per filter that
is on: group and location names as the tenant wrote them, tags, the login
channel, consent, followers, visit counts, dates and the search in words —
never a raw key or an id. The audit log's sentences and the Downloads page
use them.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _

from porchlight.admin.customers.filters import CustomerFilters
from porchlight.admin.i18n import fmt_date, fmt_number


def channel_words() -> dict[str, str]:
    """Login channels as the customer list names them."""
    return {
        "form": _("Form"),
        "click": _("Click-through"),
        "voucher": _("Voucher"),
        "returning": _("Returning device"),
        "zalo": "Zalo",
        "facebook": "Facebook",
        "google": "Google",
        "line": "LINE",
        "import": _("Import"),
    }


def _name(names: Mapping[int, str] | Mapping[str, str], key: object) -> str:
    found = names.get(key) or names.get(str(key))  # type: ignore[call-overload]
    return str(found) if found else _("#%(id)s (deleted)", id=key)


def _visits(low: int | None, high: int | None) -> str | None:
    if low is not None and high is not None:
        return _("%(low)s to %(high)s visits", low=fmt_number(low), high=fmt_number(high))
    if low is not None:
        return _("at least %(n)s visits", n=fmt_number(low))
    if high is not None:
        return _("at most %(n)s visits", n=fmt_number(high))
    return None


def _dates(filters: CustomerFilters) -> list[str]:
    found = []
    start, end = filters.updated_from, filters.updated_to
    if start and end:
        found.append(_("updated %(start)s – %(end)s", start=fmt_date(start), end=fmt_date(end)))
    elif start:
        found.append(_("updated since %(d)s", d=fmt_date(start)))
    elif end:
        found.append(_("updated until %(d)s", d=fmt_date(end)))
    if filters.new_from:
        found.append(_("New customers since %(d)s", d=fmt_date(filters.new_from)))
    if filters.seen_from:
        found.append(_("Returning customers since %(d)s", d=fmt_date(filters.seen_from)))
    return found


def phrases(
    filters: CustomerFilters,
    locations: Mapping[int, str] | Mapping[str, str],
    groups: Mapping[int, str] | Mapping[str, str],
) -> list[str]:
    """One phrase per filter that is on, in the list's order of filters."""
    found: list[str] = []
    if filters.group is not None:
        found.append(_("No group") if filters.group == "none" else _name(groups, filters.group))
    if filters.tags:
        joiner = " + " if filters.tag_mode == "all" else " / "
        found.append(_("tags %(tags)s", tags=joiner.join(filters.tags)))
    if filters.location is not None:
        found.append(_name(locations, filters.location))
    if filters.channel:
        channel = channel_words().get(filters.channel, filters.channel)
        found.append(_("came by %(channel)s", channel=channel))
    if filters.consent == "marketing":
        found.append(_("marketing consent given"))
    elif filters.consent == "no_marketing":
        found.append(_("no marketing consent"))
    if filters.follows == "line":
        found.append(_("LINE Official Account friends"))
    elif filters.follows == "zalo":
        found.append(_("Zalo Official Account followers"))
    if visits := _visits(filters.visits_min, filters.visits_max):
        found.append(visits)
    if filters.province:
        found.append(filters.province)
    if filters.postal:
        found.append(_("postal code %(code)s", code=filters.postal))
    found.extend(_dates(filters))
    if filters.q:
        found.append(_("search “%(q)s”", q=filters.q))
    return found
