"""Which customer a login event belongs to (part of the sync ingest).

The identity rule: per tenant, the normalized phone (E.164, region from the
location's country, Vietnam's 2018 renumbering applied), then the lower-cased
e-mail, then the social id of the login channel. Never the MAC: phones
randomize it. The one exception is a `returning` login that carries none of
these — the agent offered "welcome back" because this device logged in
recently — which is credited to the customer last seen on that device.

A batch is resolved with three indexed look-ups (phones, e-mails, social ids)
and a cache, so 500 logins of one batch cost a handful of queries; new
customers are inserted together by `flush` (one executemany with RETURNING).
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin.schema import customers, devices
from porchlight.events import SOCIAL_CHANNELS
from porchlight.phones import try_normalize_phone

log = logging.getLogger(__name__)

_INSERT = customers.insert().returning(customers.c.id, sort_by_parameter_order=True)


@functools.lru_cache(maxsize=65536)
def _phone(raw: str, region: str) -> str | None:
    """Normalized phone; cached, since returning guests send the same numbers."""
    return try_normalize_phone(raw, region)


def _email(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower()
    if "@" not in value or len(value) > 254 or value.startswith("@") or value.endswith("@"):
        return None
    return value


def _social(data: dict[str, Any]) -> tuple[str, str] | None:
    if not data.get("social_id"):
        return None
    provider = data["channel"] if data["channel"] in SOCIAL_CHANNELS else "other"
    return provider, str(data["social_id"])


class CustomerResolver:
    """Finds or creates customers for the logins of one batch (one transaction)."""

    def __init__(self, conn: Connection, tenant_id: int, region: str, now: datetime) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.region = region
        self.now = now
        self.created = 0
        self.by_phone: dict[str, dict[str, Any]] = {}
        self.by_email: dict[str, dict[str, Any]] = {}
        self.by_social: dict[tuple[str, str], dict[str, Any]] = {}
        self.pending: list[dict[str, Any]] = []
        self.changes: dict[int, dict[str, Any]] = {}
        self._key_cache: dict[int, tuple[str | None, str | None, tuple[str, str] | None]] = {}

    def _keys(self, data: dict[str, Any]) -> tuple[str | None, str | None, tuple[str, str] | None]:
        cached = self._key_cache.get(id(data))
        if cached is None:
            phone = _phone(data["phone"], self.region) if data.get("phone") else None
            cached = (phone, _email(data.get("email")), _social(data))
            self._key_cache[id(data)] = cached
        return cached

    def _remember(self, row: dict[str, Any]) -> None:
        if row["phone"]:
            self.by_phone[row["phone"]] = row
        if row["email"]:
            self.by_email.setdefault(row["email"], row)
        if row["social_id"]:
            self.by_social.setdefault((row["social_provider"], row["social_id"]), row)

    def preload(self, logins: list[dict[str, Any]]) -> None:
        phones, emails, socials = set(), set(), set()
        for event in logins:
            phone, email, social = self._keys(event["data"])
            if phone:
                phones.add(phone)
            if email:
                emails.add(email)
            if social:
                socials.add(social[1])
        c = customers.c
        cols = [c.id, c.name, c.phone, c.email, c.social_provider, c.social_id]
        queries = []
        if phones:
            queries.append(c.phone.in_(sorted(phones)))
        if emails:
            queries.append(c.email.in_(sorted(emails)))
        if socials:
            queries.append(c.social_id.in_(sorted(socials)))
        for condition in queries:
            rows = self.conn.execute(
                sa.select(*cols).where(c.tenant_id == self.tenant_id, condition).order_by(c.id)
            ).all()
            for row in rows:
                self._remember(dict(row._mapping))

    def resolve(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The customer row (a dict; ``id`` is None until `flush`), or None."""
        data = event["data"]
        phone, email, social = self._keys(data)
        if not (phone or email or social):
            if data["channel"] == "returning":
                found = self._by_device(event["mac"])
                return None if found is None else {"id": found}
            return None
        row = None
        if phone:
            row = self.by_phone.get(phone)
        if row is None and email:
            candidate = self.by_email.get(email)
            if candidate is not None and (phone is None or candidate["phone"] is None):
                row = candidate
        if row is None and social:
            candidate = self.by_social.get(social)
            if candidate is not None and (phone is None or candidate["phone"] is None):
                row = candidate
        if row is None:
            return self._create(data, phone, email, social)
        self._fill(row, data, phone, email, social)
        return row

    def _create(
        self,
        data: dict[str, Any],
        phone: str | None,
        email: str | None,
        social: tuple[str, str] | None,
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": None,
            "tenant_id": self.tenant_id,
            "name": (data.get("name") or "")[:200],
            "phone": phone,
            "email": email,
            "social_provider": social[0] if social else None,
            "social_id": social[1] if social else None,
            "created_at": self.now,
            "updated_at": self.now,
        }
        self.pending.append(row)
        self._remember(row)
        return row

    def flush(self) -> None:
        """Insert the new customers (one executemany) and apply the filled-in fields."""
        if self.pending:
            values = [{k: v for k, v in row.items() if k != "id"} for row in self.pending]
            ids = self.conn.execute(_INSERT, values).scalars().all()
            for row, new_id in zip(self.pending, ids, strict=True):
                row["id"] = int(new_id)
            self.created += len(self.pending)
            self.pending = []
        for customer_id, changes in sorted(self.changes.items()):
            self.conn.execute(
                customers.update()
                .where(customers.c.id == customer_id)
                .values(**changes, updated_at=self.now)
            )
        self.changes = {}

    def _fill(
        self,
        row: dict[str, Any],
        data: dict[str, Any],
        phone: str | None,
        email: str | None,
        social: tuple[str, str] | None,
    ) -> None:
        """Fill what the customer row lacks; never overwrite what a manager typed."""
        changes: dict[str, Any] = {}
        if not row["name"] and data.get("name"):
            changes["name"] = data["name"][:200]
        if phone and not row["phone"] and phone not in self.by_phone:
            changes["phone"] = phone
        if email and not row["email"]:
            changes["email"] = email
        if social and not row["social_id"]:
            changes["social_provider"], changes["social_id"] = social
        if not changes:
            return
        if row["id"] is not None:
            self.changes.setdefault(int(row["id"]), {}).update(changes)
        row.update(changes)
        self._remember(row)

    def _by_device(self, mac: str) -> int | None:
        customer_id = self.conn.execute(
            sa.select(devices.c.customer_id)
            .where(devices.c.tenant_id == self.tenant_id, devices.c.mac == mac)
            .order_by(devices.c.last_seen_at.desc())
            .limit(1)
        ).scalar()
        return None if customer_id is None else int(customer_id)
