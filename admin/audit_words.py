"""The audit log in words, in the reader's language ("Lan exported 164 customers (VIP,
Chi nhánh 03) as XLSX").

`describe(row, names)` turns an audit row (action, user, target, details)
into one sentence, naming the user by name (else e-mail); an export names
its rows in words (`export_words`: group, tag and location names, channel,
consent, dates — the names it stored, else today's `names`); actions without
a sentence of their own get a general one naming the action in words, so
the page never shows raw keys or JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

from porchlight.admin.customers.filter_words import phrases
from porchlight.admin.io.exports.rows import filters_from_query_string

Words = Callable[[str, Any, dict[str, Any]], str]
Names = dict[str, dict[str, str]]  # {"locations": {id: name}, "groups": {id: name}}
MAX_SCOPE_NAMES = 3


def _n(details: dict[str, Any], key: str) -> object:
    value = details.get(key)
    return value if value is not None else "?"


def export_words(details: dict[str, Any], current: Names | None = None) -> str:
    """An export's rows in words: "VIP, Chi nhánh 03, marketing consent given".

    Names come from the audit row (as they were then), else from `current`.
    """
    kept = details.get("names")
    stored: dict[str, Any] = kept if isinstance(kept, dict) else {}
    names: Names = {}
    for kind in ("locations", "groups"):
        mine = stored.get(kind)
        names[kind] = {
            **((current or {}).get(kind) or {}),
            **(mine if isinstance(mine, dict) else {}),
        }
    found: list[str] = []
    if details.get("scope") == "selected":
        found.append(_("rows ticked on the list"))
    raw = details.get("filters")
    filters = filters_from_query_string(raw) if isinstance(raw, str) and raw else None
    if filters is not None:
        found.extend(phrases(filters, names["locations"], names["groups"]))
    places = details.get("location_scope")
    if isinstance(places, list) and places and (filters is None or filters.location is None):
        shown = [names["locations"].get(str(p)) or f"#{p}" for p in places[:MAX_SCOPE_NAMES]]
        more = len(places) - len(shown)
        found.append(" / ".join(shown) + (f" +{more}" if more > 0 else ""))
    if details.get("purpose") == "marketing":
        found.append(_("for marketing: current consent only"))
    return ", ".join(found)


def _fmt(details: dict[str, Any]) -> str:
    return str(details.get("format") or "").upper() or "?"


def _export(who: str, details: dict[str, Any], names: Names | None) -> str:
    words = export_words(details, names)
    if words:
        return _(
            "%(who)s exported %(n)s customers (%(filters)s) as %(fmt)s",
            who=who, n=_n(details, "rows"), filters=words, fmt=_fmt(details),
        )  # fmt: skip
    return _(
        "%(who)s exported %(n)s customers as %(fmt)s",
        who=who, n=_n(details, "rows"), fmt=_fmt(details),
    )  # fmt: skip


def _export_request(who: str, details: dict[str, Any], names: Names | None) -> str:
    words = export_words(details, names)
    if words:
        return _(
            "%(who)s asked for an export of customers (%(filters)s) as %(fmt)s",
            who=who, filters=words, fmt=_fmt(details),
        )  # fmt: skip
    return _("%(who)s asked for an export of customers as %(fmt)s", who=who, fmt=_fmt(details))


EXPORTS = {"customers.export": _export, "customers.export_request": _export_request}

SENTENCES: dict[str, Words] = {
    "customers.export_download": lambda who, r, d: _(
        "%(who)s downloaded an export of %(n)s customers", who=who, n=_n(d, "rows")
    ),
    "customers.export_retry": lambda who, r, d: _("%(who)s ran an export again", who=who),
    "customers.import": lambda who, r, d: _(
        "%(who)s imported %(file)s: %(added)s added, %(merged)s merged, %(skipped)s skipped",
        who=who, file=d.get("file") or "?", added=_n(d, "added"), merged=_n(d, "merged"),
        skipped=_n(d, "skipped"),
    ),
    "customers.import_upload": lambda who, r, d: _(
        "%(who)s uploaded %(file)s to import", who=who, file=d.get("file") or "?"
    ),
    "customers.import_confirm": lambda who, r, d: _(
        "%(who)s confirmed the import of %(file)s", who=who, file=d.get("file") or "?"
    ),
    "customer_edit": lambda who, r, d: _(
        "%(who)s edited customer #%(id)s", who=who, id=r.target_id
    ),
    "customer_erase": lambda who, r, d: _(
        "%(who)s erased customer #%(id)s", who=who, id=r.target_id
    ),
    "customer_download": lambda who, r, d: _(
        "%(who)s downloaded the data of customer #%(id)s", who=who, id=r.target_id
    ),
    "login": lambda who, r, d: _("%(who)s signed in", who=who),
    "login_failed": lambda who, r, d: _("A sign-in as %(who)s failed", who=who),
    "password_changed": lambda who, r, d: _("%(who)s changed their password", who=who),
    "user.password_reset": lambda who, r, d: _(
        "%(who)s reset the password of %(email)s", who=who, email=d.get("email") or "?"
    ),
    "segment_create": lambda who, r, d: _(
        "%(who)s saved the segment “%(name)s”", who=who, name=d.get("name") or "?"
    ),
    "location_create": lambda who, r, d: _(
        "%(who)s created the location “%(name)s”", who=who, name=d.get("name") or "?"
    ),
}  # fmt: skip


def describe(row: Any, names: Names | None = None) -> str:
    """`row` in one sentence; `names`: the tenant's location and group names now."""
    who = (
        getattr(row, "user_name", None)
        or row.user_email
        or (_("router #%(id)s", id=row.router_id) if row.router_id else "—")
    )
    details = row.details if isinstance(row.details, dict) else {}
    export = EXPORTS.get(row.action)
    if export is not None:
        return export(who, details, names)
    words = SENTENCES.get(row.action)
    if words is not None:
        return words(who, row, details)
    action = row.action.replace("customers.", "").replace(".", " ").replace("_", " ")
    if row.target_type:
        return _(
            "%(who)s: %(action)s (%(target)s #%(id)s)",
            who=who, action=action, target=row.target_type, id=row.target_id,
        )  # fmt: skip
    return _("%(who)s: %(action)s", who=who, action=action)
