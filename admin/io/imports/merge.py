"""Dry run and apply: the same row-by-row decisions, the second one written.

A row merges into the tenant's customer with the same phone; failing that,
into the customer with the same email when one side has no phone. Later rows
with a phone (or, without one, an email) seen earlier in the file are skipped
as duplicates. `apply()` writes everything in one transaction: a failure
leaves the customers as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io.imports.layouts import Layout
from porchlight.admin.io.imports.reader import RowSource
from porchlight.admin.io.imports.records import Record, RowError, to_record

log = logging.getLogger(__name__)

BATCH = 1000
MAX_ERRORS_KEPT = 500
Progress = Callable[[int], None]


@dataclass
class Summary:
    layout: str
    rows: int = 0
    add: int = 0
    merge: int = 0
    skip: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, err: RowError) -> None:
        self.skip += 1
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(err.as_dict())

    def as_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "rows": self.rows,
            "add": self.add,
            "merge": self.merge,
            "skip": self.skip,
            "error_count": self.error_count,
            "errors": self.errors,
        }


def iter_records(source: RowSource, layout: Layout, region: str) -> Iterator[Record | RowError]:
    for number, cells in source.rows():
        if number <= layout.header_row:
            continue
        record = to_record(number, cells, layout, region)
        if record is not None:
            yield record


class _Resolver:
    """Matches records to existing customers, batch by batch, and drops in-file duplicates."""

    def __init__(self, tenant_id: int, summary: Summary) -> None:
        self.tenant_id = tenant_id
        self.summary = summary
        self.seen_phone: dict[str, int] = {}
        self.seen_email: dict[str, int] = {}
        self.claimed: set[int] = set()  # customers without phone matched by email

    def unique(self, record: Record) -> bool:
        if record.phone:
            other = self.seen_phone.get(record.phone)
            if other is None:
                self.seen_phone[record.phone] = record.row
                if record.email:
                    self.seen_email.setdefault(record.email, record.row)
                return True
        else:
            assert record.email is not None
            other = self.seen_email.get(record.email)
            if other is None:
                self.seen_email[record.email] = record.row
                return True
        self.summary.error(RowError(record.row, "duplicate_in_file", "phone", "", other))
        return False

    def resolve(self, conn: Connection, batch: list[Record]) -> list[int | None]:
        """The existing customer id for each record, or None (new)."""
        c = schema.customers.c
        phones = [r.phone for r in batch if r.phone]
        by_phone: dict[str, int] = {}
        if phones:
            rows = conn.execute(
                sa.select(c.phone, c.id).where(c.tenant_id == self.tenant_id, c.phone.in_(phones))
            )
            by_phone = {row.phone: row.id for row in rows}
        emails = [r.email for r in batch if r.email and r.phone not in by_phone]
        by_email: dict[str, list[tuple[int, str | None]]] = {}
        if emails:
            rows = conn.execute(
                sa.select(c.email, c.id, c.phone)
                .where(c.tenant_id == self.tenant_id, c.email.in_(emails))
                .order_by(c.id)
            )
            for row in rows:
                by_email.setdefault(row.email, []).append((row.id, row.phone))
        found: list[int | None] = []
        for record in batch:
            match = by_phone.get(record.phone) if record.phone else None
            if match is None and record.email:
                for cid, phone in by_email.get(record.email, []):
                    if cid in self.claimed:
                        continue
                    if record.phone is None or phone is None:
                        match = cid
                        if phone is None and record.phone is not None:
                            self.claimed.add(cid)
                        break
            found.append(match)
        return found


def _batches(
    records: Iterable[Record | RowError], resolver: _Resolver, progress: Progress | None
) -> Iterator[list[Record]]:
    summary = resolver.summary
    batch: list[Record] = []
    for item in records:
        summary.rows += 1
        if isinstance(item, RowError):
            summary.error(item)
        elif resolver.unique(item):
            batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
        if progress and summary.rows % BATCH == 0:
            progress(summary.rows)
    if batch:
        yield batch


def dry_run(
    conn: Connection,
    records: Iterable[Record | RowError],
    tenant_id: int,
    layout_name: str,
    progress: Progress | None = None,
) -> Summary:
    """Count what an import would add, merge and skip, and list row errors. Writes nothing."""
    summary = Summary(layout_name)
    resolver = _Resolver(tenant_id, summary)
    for batch in _batches(records, resolver, progress):
        for match in resolver.resolve(conn, batch):
            if match is None:
                summary.add += 1
            else:
                summary.merge += 1
    return summary


def apply(
    conn: Connection,
    records: Iterable[Record | RowError],
    *,
    tenant_id: int,
    location_id: int,
    group_id: int | None,
    layout_name: str,
    progress: Progress | None = None,
) -> Summary:
    """Write the import in the caller's transaction; same counts as `dry_run`."""
    summary = Summary(layout_name)
    resolver = _Resolver(tenant_id, summary)
    writer = _Writer(conn, tenant_id, location_id, group_id)
    for batch in _batches(records, resolver, progress):
        matches = resolver.resolve(conn, batch)
        new = [r for r, m in zip(batch, matches, strict=True) if m is None]
        old = [(r, m) for r, m in zip(batch, matches, strict=True) if m is not None]
        ids = writer.insert(new)
        writer.update(old)
        writer.link(list(zip(new, ids, strict=True)) + [(r, m) for r, m in old if m is not None])
        summary.add += len(new)
        summary.merge += len(old)
    return summary


class _Writer:
    def __init__(self, conn: Connection, tenant_id: int, location_id: int, group_id: int | None):
        self.conn = conn
        self.tenant_id = tenant_id
        self.location_id = location_id
        self.group_id = group_id
        self.tag_ids: dict[str, int] = {}
        self.group_ids: dict[str, int] = {}
        self.now: datetime = utcnow()

    def _ids(self, table: sa.Table, names: set[str], cache: dict[str, int]) -> None:
        missing = sorted(n for n in names if n not in cache)
        if not missing:
            return
        t = table.c
        query = sa.select(t.name, t.id).where(t.tenant_id == self.tenant_id, t.name.in_(missing))
        cache.update({row.name: row.id for row in self.conn.execute(query)})
        for name in missing:
            if name not in cache:
                result = self.conn.execute(
                    table.insert().values(tenant_id=self.tenant_id, name=name)
                )
                assert result.inserted_primary_key is not None
                cache[name] = int(result.inserted_primary_key[0])

    def _group_for(self, record: Record) -> int | None:
        if self.group_id is not None:
            return self.group_id
        return self.group_ids[record.groups[0]] if record.groups else None

    def _prepare(self, records: list[Record]) -> None:
        self._ids(schema.groups, {g for r in records for g in r.groups[:1]}, self.group_ids)
        self._ids(schema.tags, {t for r in records for t in (*r.tags, *r.groups)}, self.tag_ids)

    def insert(self, records: list[Record]) -> list[int]:
        if not records:
            return []
        self._prepare(records)
        c = schema.customers.c
        rows = [
            {
                "tenant_id": self.tenant_id,
                "name": r.name,
                "phone": r.phone,
                "email": r.email,
                "external_code": r.external_code,
                "address": r.address,
                "province": r.province,
                "postal_code": r.postal_code,
                "birthday": r.birthday,
                "gender": r.gender,
                "notes": r.notes or "",
                "spend_total": r.spend_total or 0,
                "group_id": self._group_for(r),
                "group_fixed": self._group_for(r) is not None,
                "created_at": self.now,
                "updated_at": self.now,
            }
            for r in records
        ]
        # Plain executemany (fast on both databases), then the new ids by key.
        self.conn.execute(schema.customers.insert(), rows)
        by_phone: dict[str, int] = {}
        phones = [r.phone for r in records if r.phone]
        for start in range(0, len(phones), 500):
            chunk = phones[start : start + 500]
            query = sa.select(c.phone, c.id).where(
                c.tenant_id == self.tenant_id, c.phone.in_(chunk)
            )
            by_phone.update({row.phone: row.id for row in self.conn.execute(query)})
        by_email: dict[str, int] = {}
        emails = [r.email for r in records if not r.phone and r.email]
        if emails:
            query = (
                sa.select(c.email, c.id)
                .where(c.tenant_id == self.tenant_id, c.email.in_(emails), c.phone.is_(None))
                .order_by(c.id)
            )
            by_email.update({row.email: row.id for row in self.conn.execute(query)})
        return [by_phone[r.phone] if r.phone else by_email[r.email or ""] for r in records]

    def update(self, pairs: list[tuple[Record, int]]) -> None:
        if not pairs:
            return
        self._prepare([r for r, _ in pairs])
        c = schema.customers.c

        def p(name: str, type_: Any = sa.String) -> Any:
            return sa.bindparam(name, type_=type_)

        stmt = (
            schema.customers.update()
            .where(c.id == p("b_id", sa.Integer))
            .values(
                name=sa.case((c.name == "", p("b_name")), else_=c.name),
                phone=sa.func.coalesce(c.phone, p("b_phone")),
                email=sa.func.coalesce(c.email, p("b_email")),
                external_code=sa.func.coalesce(p("b_code"), c.external_code),
                address=sa.func.coalesce(c.address, p("b_address")),
                province=sa.func.coalesce(c.province, p("b_province")),
                postal_code=sa.func.coalesce(c.postal_code, p("b_postal")),
                birthday=sa.func.coalesce(c.birthday, p("b_birthday", sa.Date)),
                gender=sa.func.coalesce(c.gender, p("b_gender")),
                spend_total=sa.func.coalesce(p("b_spend", sa.Numeric(16, 2)), c.spend_total),
                group_id=sa.func.coalesce(p("b_group", sa.Integer), c.group_id),
                group_fixed=sa.case(
                    (p("b_group", sa.Integer).is_not(None), sa.true()), else_=c.group_fixed
                ),
                updated_at=p("b_now", schema.customers.c.updated_at.type),
            )
        )
        rows = [
            {
                "b_id": cid,
                "b_name": r.name,
                "b_phone": r.phone,
                "b_email": r.email,
                "b_code": r.external_code,
                "b_address": r.address,
                "b_province": r.province,
                "b_postal": r.postal_code,
                "b_birthday": r.birthday,
                "b_gender": r.gender,
                "b_spend": r.spend_total,
                "b_group": self._group_for(r),
                "b_now": self.now,
            }
            for r, cid in pairs
        ]
        self.conn.execute(stmt, rows)

    def link(self, pairs: list[tuple[Record, int]]) -> None:
        """Tags and the import's location for every new or merged customer."""
        if not pairs:
            return
        tag_rows = [
            {"customer_id": cid, "tag_id": self.tag_ids[name]}
            for r, cid in pairs
            for name in dict.fromkeys((*r.tags, *r.groups))
        ]
        loc_rows = [{"customer_id": cid, "location_id": self.location_id} for _, cid in pairs]
        for table, rows in (
            (schema.customer_tags, tag_rows),
            (schema.customer_locations, loc_rows),
        ):
            if rows:
                self.conn.execute(_insert_ignore(self.conn, table), rows)


def _insert_ignore(conn: Connection, table: sa.Table) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing()
