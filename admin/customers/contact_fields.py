"""Phone, e-mail, province and postal code typed on the customer page, checked as the
import checks them (porchlight.phones for the phone, the importer's e-mail test, the
same lengths), plus one rule of the page: a phone another customer has is refused
(merge the two instead). Nothing is saved when any field is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.io.imports.records import MAX_LENGTH, is_email
from porchlight.phones import PhoneError, normalize_phone

_POSTAL = re.compile(r"^[0-9A-Za-z][0-9A-Za-z \-]{0,19}$")
FIELDS = ("phone", "email", "province", "postal_code")


def read_contact(
    conn: Connection, form: Mapping[str, str], row: Any, region: str
) -> tuple[dict[str, Any], list[str]]:
    """(the changed columns, the messages of refused fields) for `row`'s form."""
    if not any(key in form for key in FIELDS):
        return {}, []  # an older form without these fields: leave them alone
    values: dict[str, Any] = {}
    errors: list[str] = []
    phone_text = " ".join((form.get("phone") or "").split())
    phone = None
    if phone_text:
        try:
            phone = normalize_phone(phone_text, region)
        except PhoneError:
            errors.append(_("Phone: “%(v)s” is not a valid phone number.", v=phone_text[:40]))
    if phone and phone != row.phone and _taken(conn, row, phone):
        errors.append(_("Another customer has this phone number: merge the two instead."))
    values["phone"] = phone
    email = (form.get("email") or "").strip().lower()
    if email and not is_email(email):
        errors.append(_("E-mail: “%(v)s” is not a valid e-mail address.", v=email[:60]))
    values["email"] = email or None
    province = " ".join((form.get("province") or "").split())
    if len(province) > MAX_LENGTH["province"]:
        errors.append(_("Province: at most %(n)d characters.", n=MAX_LENGTH["province"]))
    values["province"] = province or None
    postal = (form.get("postal_code") or "").strip()
    if postal and not _POSTAL.match(postal):
        errors.append(_("Postal code: letters, digits, spaces or dashes, at most 20."))
    values["postal_code"] = postal or None
    if phone is None and values["email"] is None and (row.phone or row.email):
        errors.append(_("Keep a phone number or an e-mail address."))
    changed = {k: v for k, v in values.items() if v != getattr(row, k)}
    return changed, errors


def _taken(conn: Connection, row: Any, phone: str) -> bool:
    c = schema.customers.c
    query = sa.select(c.id).where(c.tenant_id == row.tenant_id, c.phone == phone, c.id != row.id)
    return conn.execute(query).first() is not None
