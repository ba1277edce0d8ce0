"""The audit log in words, in the reader's language ("Lan exported 164 customers as XLSX").

`describe(row)` turns an audit row (action, user, target, details) into one
sentence; actions without a sentence of their own get a general one naming
the action in words, so the page never shows raw keys or JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

Words = Callable[[str, Any, dict[str, Any]], str]


def _n(details: dict[str, Any], key: str) -> object:
    value = details.get(key)
    return value if value is not None else "?"


SENTENCES: dict[str, Words] = {
    "customers.export": lambda who, r, d: _(
        "%(who)s exported %(n)s customers as %(fmt)s", who=who, n=_n(d, "rows"),
        fmt=str(d.get("format") or "").upper() or "?",
    ),
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


def describe(row: Any) -> str:
    who = row.user_email or (_("router #%(id)s", id=row.router_id) if row.router_id else "—")
    details = row.details if isinstance(row.details, dict) else {}
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
