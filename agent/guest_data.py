"""What the router keeps for the portal's "My data", and the guest's two buttons.

At each login the agent keeps, per MAC, what the guest gave (name, the phone
and e-mail masked — the router never needs them whole once the login event is
sent), the consents they answered and how many times they logged in here
(store table ``guest_data``, m004). `view` shows it to the device itself;
`withdraw_marketing` and `request_erasure` queue ``consent`` and
``erasure_request`` events (porchlight/events.py) naming the login's session,
in the same transaction as the local change, so the admin gets each exactly
once. An erasure request also forgets the device here at once (name, welcome
back); the admin's owner confirms the rest within the legal limit.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from porchlight.agent.store import enqueue_event
from porchlight.events import new_event_id


def mask_phone(phone: str | None) -> str | None:
    """'+84912345678' -> '+84 ••• ••• 678': enough for the guest to recognise it."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 6:
        return "•••"
    head = phone[:3] if phone.startswith("+") else ""
    return f"{head} ••• ••• {digits[-3:]}".strip()


def mask_email(email: str | None) -> str | None:
    """'lan.nguyen@example.vn' -> 'l•••@example.vn'."""
    if not email or "@" not in email:
        return None
    local, domain = email.split("@", 1)
    return f"{local[:1]}•••@{domain}"


def record_login(
    db: Database, mac: str, session_id: str, login: dict[str, Any], started: str
) -> None:
    """Keep what the login gave (caller's transaction)."""
    consents = [
        {
            "purpose": str(c.get("purpose")),
            "granted": bool(c.get("granted")),
            "text_version": str(c.get("text_version")),
            "at": started,
        }
        for c in login.get("consents") or []
        if isinstance(c, dict) and c.get("purpose") in ("wifi", "marketing")
    ]
    db.execute(
        "INSERT INTO guest_data (mac, session_id, name, phone_masked, email_masked, consents, "
        "visits, first_login_at, last_login_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) "
        "ON CONFLICT (mac) DO UPDATE SET session_id = excluded.session_id, "
        "name = coalesce(excluded.name, name), "
        "phone_masked = coalesce(excluded.phone_masked, phone_masked), "
        "email_masked = coalesce(excluded.email_masked, email_masked), "
        "consents = CASE WHEN excluded.consents = '[]' THEN consents ELSE excluded.consents END, "
        "visits = visits + 1, last_login_at = excluded.last_login_at, "
        "erasure_requested_at = NULL",
        [
            mac,
            session_id,
            login.get("name"),
            mask_phone(login.get("phone")),
            mask_email(login.get("email")),
            json.dumps(consents, ensure_ascii=False),
            started,
            started,
        ],
    )


def _row(db: Database, mac: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM guest_data WHERE mac = ?", [mac]))
    return rows[0] if rows else None


def _marketing(consents: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest marketing answer, or None."""
    answers = [c for c in consents if c.get("purpose") == "marketing"]
    return answers[-1] if answers else None


def view(db: Database, mac: str) -> dict[str, Any] | None:
    """What is kept about the device's guest, or None when nothing is."""
    row = _row(db, mac)
    if row is None:
        return None
    consents = json.loads(row["consents"] or "[]")
    latest = _marketing(consents)
    return {
        "name": row["name"],
        "phone": row["phone_masked"],
        "email": row["email_masked"],
        "visits": int(row["visits"]),
        "first_login_at": row["first_login_at"],
        "last_login_at": row["last_login_at"],
        "consents": consents,
        "marketing": bool(latest and latest["granted"]),
        "erasure_requested_at": row["erasure_requested_at"],
    }


def withdraw_marketing(db: Database, mac: str, now: str) -> bool:
    """Withdraw a current marketing consent; False when there was none to withdraw."""
    with db.atomic():
        row = _row(db, mac)
        if row is None:
            return False
        consents = json.loads(row["consents"] or "[]")
        latest = _marketing(consents)
        if latest is None or not latest["granted"]:
            return False
        version = latest["text_version"]
        consents.append(
            {"purpose": "marketing", "granted": False, "text_version": version, "at": now}
        )
        enqueue_event(
            db,
            {
                "id": new_event_id(),
                "type": "consent",
                "occurred_at": now,
                "mac": mac,
                "data": {
                    "session_id": row["session_id"],
                    "purpose": "marketing",
                    "granted": False,
                    "text_version": version,
                },
            },
        )
        db.execute(
            "UPDATE guest_data SET consents = ? WHERE mac = ?",
            [json.dumps(consents, ensure_ascii=False), mac],
        )
    return True


def request_erasure(db: Database, mac: str, now: str) -> bool:
    """Ask the venue to erase the guest; forget them here now. False if already asked."""
    with db.atomic():
        row = _row(db, mac)
        if row is None or row["erasure_requested_at"]:
            return False
        enqueue_event(
            db,
            {
                "id": new_event_id(),
                "type": "erasure_request",
                "occurred_at": now,
                "mac": mac,
                "data": {"session_id": row["session_id"]},
            },
        )
        db.execute(
            "UPDATE guest_data SET name = NULL, phone_masked = NULL, email_masked = NULL, "
            "consents = '[]', erasure_requested_at = ? WHERE mac = ?",
            [now, mac],
        )
        db.execute("DELETE FROM remembered WHERE mac = ?", [mac])
        db.execute("UPDATE sessions SET name = NULL WHERE mac = ?", [mac])
    return True
