"""Data minimisation at ingest: a guest-form field the location does not ask is not stored.

The portal only sends what its form asked, but the admin does not rely on
it: a form login carrying a name, phone or e-mail its location's settings
hide (an old router, a tampered one) has that value dropped before the
customer is found or written. Social and other channels carry what their
provider vouches for and are left alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from porchlight.admin.sync.location_config import default_settings, latest_settings

FORM_FIELDS = ("name", "phone", "email")


def asked_fields(conn: Connection, location_id: int) -> set[str]:
    """The guest-form fields the location asks (required or optional)."""
    fields = dict(default_settings("")["portal"]["fields"])
    saved = latest_settings(conn, location_id)
    if saved is not None and isinstance(saved.settings, dict):
        fields.update((saved.settings.get("portal") or {}).get("fields") or {})
    return {name for name in FORM_FIELDS if fields.get(name) in ("required", "optional")}


def strip_unasked(logins: list[dict[str, Any]], asked: set[str]) -> list[dict[str, Any]]:
    """Form logins with the fields the location does not ask set to None (copies)."""
    out = []
    for event in logins:
        data = event["data"]
        drop = [f for f in FORM_FIELDS if f not in asked and data.get(f) is not None]
        if data["channel"] == "form" and drop:
            event = {**event, "data": {**data, **dict.fromkeys(drop)}}
        out.append(event)
    return out
