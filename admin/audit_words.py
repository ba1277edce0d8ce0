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
    "location_edit": lambda who, r, d: _(
        "%(who)s edited the location %(place)s", who=who, place=d.get("_place", "?")
    ),
    "location_archive": lambda who, r, d: _(
        "%(who)s archived the location %(place)s", who=who, place=d.get("_place", "?")
    ),
    "location_restore": lambda who, r, d: _(
        "%(who)s restored the location %(place)s", who=who, place=d.get("_place", "?")
    ),
    "guest_page_save": lambda who, r, d: _(
        "%(who)s saved version %(version)s of the guest page of %(place)s",
        who=who, version=_n(d, "version"), place=d.get("_place", "?"),
    ),
    "guest_page_restore": lambda who, r, d: _(
        "%(who)s brought back version %(old)s of the guest page of %(place)s",
        who=who, old=_n(d, "from"), place=d.get("_place", "?"),
    ),
    "chat_webhooks_edit": lambda who, r, d: _(
        "%(who)s changed the chat settings of %(place)s", who=who, place=d.get("_place", "?")
    ),
    "customer_merge": lambda who, r, d: _(
        "%(who)s merged customer #%(old)s into customer #%(id)s",
        who=who, old=_n(d, "merged"), id=r.target_id,
    ),
    "customer_denied": lambda who, r, d: _(
        "%(who)s tried to open customer #%(id)s, outside their locations",
        who=who, id=r.target_id,
    ),
    "customers.import_retry": lambda who, r, d: _(
        "%(who)s ran the import of %(file)s again", who=who, file=d.get("file") or "?"
    ),
    "customers.import_mapping": lambda who, r, d: _(
        "%(who)s chose the columns of %(file)s to import", who=who, file=d.get("file") or "?"
    ),
    "group_add": lambda who, r, d: _(
        "%(who)s created the group “%(name)s”", who=who, name=d.get("name") or "?"
    ),
    "group_edit": lambda who, r, d: _(
        "%(who)s edited the group “%(name)s”", who=who, name=d.get("name") or "?"
    ),
    "group_delete": lambda who, r, d: _(
        "%(who)s deleted the group “%(name)s”", who=who, name=d.get("name") or "?"
    ),
    "segment_delete": lambda who, r, d: _("%(who)s deleted a saved segment", who=who),
    "guest_disconnect": lambda who, r, d: _(
        "%(who)s disconnected the device %(mac)s", who=who, mac=d.get("mac") or "?"
    ),
    "router_add": lambda who, r, d: _(
        "%(who)s added the router “%(name)s”", who=who, name=d.get("name") or "?"
    ),
    "router_adopt": lambda who, r, d: _("%(who)s adopted a waiting router", who=who),
    "router_revoke": lambda who, r, d: _(
        "%(who)s revoked the router “%(name)s”", who=who, name=d.get("name") or "?"
    ),
    "router_rotate": lambda who, r, d: _(
        "%(who)s made a new enrollment code for the router “%(name)s”",
        who=who, name=d.get("name") or "?",
    ),
    "voucher_batch_create": lambda who, r, d: _(
        "%(who)s created %(n)s voucher codes", who=who, n=_n(d, "count")
    ),
    "voucher_batch_pdf": lambda who, r, d: _(
        "%(who)s printed %(n)s voucher cards as PDF", who=who, n=_n(d, "cards")
    ),
    "voucher_batch_void": lambda who, r, d: _(
        "%(who)s voided a batch of %(n)s voucher codes", who=who, n=_n(d, "count")
    ),
    "sessions.end_all": lambda who, r, d: _(
        "%(who)s signed out on every device", who=who
    ),
    "privacy_retention_settings": lambda who, r, d: _(
        "%(who)s changed the retention settings", who=who
    ),
    "privacy_retention_queued": lambda who, r, d: _(
        "%(who)s started a retention pass", who=who
    ),
    "privacy_retention_run": lambda who, r, d: _(
        "Retention erased %(customers)s customers with no visit since %(cutoff)s "
        "and removed %(devices)s old device records",
        customers=_n(d, "customers"), cutoff=_n(d, "customer_cutoff"),
        devices=_n(d, "devices"),
    ),
    "guest_consent_given": lambda who, r, d: (
        _("Customer #%(id)s agreed to marketing, on the Wi-Fi page (%(who)s)",
          id=r.target_id, who=who)
        if d.get("purpose") == "marketing"
        else _("Customer #%(id)s agreed to the Wi-Fi terms, on the Wi-Fi page (%(who)s)",
               id=r.target_id, who=who)
    ),
    "guest_consent_withdrawn": lambda who, r, d: (
        _("Customer #%(id)s withdrew their marketing consent, on the Wi-Fi page (%(who)s)",
          id=r.target_id, who=who)
        if d.get("purpose") == "marketing"
        else _("Customer #%(id)s withdrew their consent to the Wi-Fi terms (%(who)s)",
               id=r.target_id, who=who)
    ),
    "guest_erasure_requested": lambda who, r, d: _(
        "A guest asked on the Wi-Fi page for their data to be erased (customer #%(id)s, %(who)s)",
        id=r.target_id or "?", who=who,
    ),
    "guest_erasure_erased": lambda who, r, d: _(
        "%(who)s confirmed an erasure request: customer #%(id)s erased",
        who=who, id=r.target_id,
    ),
    "guest_erasure_declined": lambda who, r, d: _(
        "%(who)s declined the erasure request of customer #%(id)s", who=who, id=r.target_id
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
        if row.target_type == "location":
            place = ((names or {}).get("locations") or {}).get(str(row.target_id))
            details = {**details, "_place": f"“{place}”" if place else f"#{row.target_id}"}
        return words(who, row, details)
    action = row.action.replace("customers.", "").replace(".", " ").replace("_", " ")
    if row.target_type:
        return _(
            "%(who)s: %(action)s (%(target)s #%(id)s)",
            who=who, action=action, target=row.target_type, id=row.target_id,
        )  # fmt: skip
    return _("%(who)s: %(action)s", who=who, action=action)


def action_label(action: str) -> str:
    """A short name for an action, for the audit log's filter (never the raw key if known)."""
    labels = {
        "login": _("Sign-ins"), "login_failed": _("Failed sign-ins"),
        "password_changed": _("Password changes"), "user.password_reset": _("Password resets"),
        "sessions.end_all": _("Signed out everywhere"),
        "customers.export": _("Exports"), "customers.export_request": _("Export requests"),
        "customers.export_download": _("Export downloads"),
        "customers.export_retry": _("Exports run again"), "customers.import": _("Imports"),
        "customers.import_upload": _("Import uploads"),
        "customers.import_confirm": _("Imports confirmed"),
        "customers.import_mapping": _("Import columns chosen"),
        "customers.import_retry": _("Imports run again"),
        "customer_edit": _("Customers edited"), "customer_erase": _("Customers erased"),
        "customer_download": _("Customer data downloaded"),
        "customer_merge": _("Customers merged"),
        "customer_denied": _("Customers refused (outside a manager's locations)"),
        "group_add": _("Groups created"), "group_edit": _("Groups edited"),
        "group_delete": _("Groups deleted"), "segment_create": _("Segments saved"),
        "segment_delete": _("Segments deleted"), "location_create": _("Locations created"),
        "location_edit": _("Locations edited"), "location_archive": _("Locations archived"),
        "location_restore": _("Locations restored"), "guest_page_save": _("Guest page saved"),
        "guest_page_restore": _("Guest page brought back"),
        "chat_webhooks_edit": _("Chat settings"), "guest_disconnect": _("Guests disconnected"),
        "router_add": _("Routers added"), "router_adopt": _("Routers adopted"),
        "router_revoke": _("Routers revoked"), "router_rotate": _("Enrollment codes renewed"),
        "voucher_batch_create": _("Vouchers created"), "voucher_batch_pdf": _("Vouchers printed"),
        "voucher_batch_void": _("Vouchers voided"),
        "privacy_retention_settings": _("Retention settings"),
        "privacy_retention_queued": _("Retention passes started"),
        "privacy_retention_run": _("Retention passes"),
        "guest_consent_given": _("Consents given on the Wi-Fi page"),
        "guest_consent_withdrawn": _("Consents withdrawn on the Wi-Fi page"),
        "guest_erasure_requested": _("Erasure requests"),
        "guest_erasure_erased": _("Erasure requests confirmed"),
        "guest_erasure_declined": _("Erasure requests declined"),
    }  # fmt: skip
    return labels.get(action) or action.replace("customers.", "").replace("_", " ")
