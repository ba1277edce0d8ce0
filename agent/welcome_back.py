"""Welcome back: what a returning device may see, and what its login must show.

A MAC is no secret (anyone can present it), so what the agent keeps for the
"welcome back" offer is the least that makes it work: the guest's given name
(the only part of a name a device is ever shown), the last three digits of the
phone on file, and the SHA-256 of a random proof the portal keeps in a signed
cookie in the browser that logged in. A welcome-back login must bring that
cookie's proof, or else the three digits; three wrong tries end the offer
for that device until its next full login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlite_utils import Database

from porchlight.errors import PorchlightError

MAX_FAILURES = 3
# family name first: the given name is the last word (Nguyễn Thị Lan -> Lan)
FAMILY_NAME_FIRST = frozenset({"VN", "CN", "JP", "KR", "HU", "TW", "HK", "MO", "SG"})


class ProofRefused(PorchlightError):
    """A welcome-back login without the right proof."""


def given_name(name: Any, country: Any = "VN") -> str | None:
    """The part of `name` a device may be greeted with (one word), or None."""
    words = str(name or "").split()
    if not words:
        return None
    word = words[-1] if str(country or "").upper() in FAMILY_NAME_FIRST else words[0]
    return word[:40]


def phone_tail(phone: Any) -> str | None:
    digits = "".join(ch for ch in str(phone or "") if ch.isdigit())
    return digits[-3:] if len(digits) >= 6 else None


def new_proof() -> tuple[str, str]:
    """(the proof for the portal's cookie, its hash for the store)."""
    token = secrets.token_urlsafe(24)
    return token, _digest(token)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def check(db: Database, mac: str, proof: Any) -> None:
    """Accept `proof` ({"cookie": token} or {"phone_tail": "678"}) for `mac`'s welcome back.

    Counts a wrong proof; raises ProofRefused. The caller has checked the offer stands.
    """
    row = db.execute("SELECT proof, phone_tail FROM remembered WHERE mac = ?", [mac]).fetchone()
    stored_proof, stored_tail = (row[0], row[1]) if row else (None, None)
    given = proof if isinstance(proof, dict) else {}
    cookie, tail = given.get("cookie"), given.get("phone_tail")
    good = False
    if isinstance(cookie, str) and cookie and stored_proof:
        good = hmac.compare_digest(_digest(cookie[:200]), stored_proof)
    if not good and isinstance(tail, str) and tail.strip() and stored_tail:
        good = hmac.compare_digest(tail.strip()[-3:].encode(), stored_tail.encode())
    if good:
        return
    with db.atomic():
        db.execute("UPDATE remembered SET failures = failures + 1 WHERE mac = ?", [mac])
    raise ProofRefused("welcome back needs this browser's earlier login or the phone's last digits")
