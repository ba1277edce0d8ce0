"""Writing an import's customers: inserts, updates of matched customers, links.

Groups in a file match the tenant's groups whatever their case ("vip" is the
tenant's "VIP"); a name no group has creates that group. A customer is in one
group: the first of the row's groups that the tenant has (else its first) is
the customer's group and any further ones are kept as tags, never the chosen
group itself. Tags also match case-insensitively. Every customer an import
adds or merges into carries the "import" channel (the list's channel filter).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from porchlight.admin import schema
from porchlight.admin.db import utcnow
from porchlight.admin.io.imports.bulk import (
    copy_rows,
    executemany,
    insert_ignore_arrays,
    insert_ignore_json,
)
from porchlight.admin.io.imports.customer_updates import write_updates
from porchlight.admin.io.imports.records import Record

IMPORT_CHANNEL = "import"
# The values of an inserted customer and of a merge's update, in their rows' order.
_CUSTOMER_KEYS = (
    "id", "tenant_id", "name", "phone", "email", "external_code", "address", "province",
    "postal_code", "birthday", "gender", "notes", "spend_total", "group_id", "group_fixed",
    "created_at", "updated_at",
)  # fmt: skip

# A row's chosen group name and its tags.
_Plan = tuple[str | None, tuple[str, ...]]


class Writer:
    def __init__(self, conn: Connection, tenant_id: int, location_id: int, group_id: int | None):
        self.conn = conn
        self.tenant_id = tenant_id
        self.location_id = location_id
        self.group_id = group_id
        self.now: datetime = utcnow()
        self.pg = conn.dialect.name == "postgresql"
        self.tag_ids = self._existing(schema.tags)
        self.group_ids = self._existing(schema.groups)
        self.name_index = _NameIndex(conn)
        self._plans: dict[tuple[tuple[str, ...], tuple[str, ...]], _Plan] = {}

    def _existing(self, table: sa.Table) -> dict[str, int]:
        t = table.c
        rows = self.conn.execute(
            sa.select(t.name, t.id).where(t.tenant_id == self.tenant_id).order_by(t.id)
        )
        found: dict[str, int] = {}
        for row in rows:
            found.setdefault(row.name.casefold(), row.id)
        return found

    def _ensure(self, table: sa.Table, names: set[str], cache: dict[str, int]) -> None:
        for name in sorted(names):
            if name.casefold() not in cache:
                result = self.conn.execute(
                    table.insert().values(tenant_id=self.tenant_id, name=name)
                )
                assert result.inserted_primary_key is not None
                cache[name.casefold()] = int(result.inserted_primary_key[0])
                if table is schema.groups:
                    self._plans.clear()  # a new group may be a row's chosen one now

    def _plan(self, record: Record) -> _Plan:
        """The row's group name that becomes the customer's group (None: no group)
        and its tags (its further groups among them). Rows share a few group and
        tag cells, so each pair is worked out once while the tenant's groups stay."""
        key = (record.groups, record.tags)
        plan = self._plans.get(key)
        if plan is None:
            chosen = record.groups[0] if record.groups else None
            for name in record.groups:
                if name.casefold() in self.group_ids:
                    chosen = name
                    break
            group = None if self.group_id is not None else chosen
            extra = [g for g in record.groups if g != group]
            plan = self._plans[key] = (chosen, tuple(dict.fromkeys((*record.tags, *extra))))
        return plan

    def _tags_of(self, record: Record) -> tuple[str, ...]:
        return self._plan(record)[1]

    def _tag_ids_of(self, record: Record) -> list[int]:
        """The ids of the record's tags (`_prepare` made any the tenant lacked)."""
        return [self.tag_ids[name.casefold()] for name in self._tags_of(record)]

    def _group_for(self, record: Record) -> int | None:
        if self.group_id is not None:
            return self.group_id
        name = self._plan(record)[0]
        return self.group_ids[name.casefold()] if name else None

    def _prepare(self, records: list[Record]) -> None:
        if self.group_id is None:
            wanted = {g for r in records if (g := self._plan(r)[0])}
            self._ensure(schema.groups, wanted, self.group_ids)
        self._ensure(schema.tags, {t for r in records for t in self._tags_of(r)}, self.tag_ids)

    def insert(self, records: list[Record]) -> list[int]:
        if not records:
            return []
        self._prepare(records)
        ids = self._new_ids(len(records))
        rows = []
        for cid, r in zip(ids, records, strict=True):
            group = self._group_for(r)
            rows.append(
                (
                    cid,
                    self.tenant_id,
                    r.name,
                    r.phone,
                    r.email,
                    r.external_code,
                    r.address,
                    r.province,
                    r.postal_code,
                    r.birthday,
                    r.gender,
                    r.notes or "",
                    r.spend_total or 0,
                    group,
                    group is not None,
                    self.now,
                    self.now,
                )
            )
        if self.pg:  # with their tag ids: the tags trigger (0021) then leaves them be
            tagged = [
                (*row, sorted(set(self._tag_ids_of(r))))
                for row, r in zip(rows, records, strict=True)
            ]
            copy_rows(self.conn, schema.customers, (*_CUSTOMER_KEYS, "tag_ids"), tagged)
        else:
            executemany(self.conn, schema.customers.insert(), _CUSTOMER_KEYS, rows)
            self.name_index.inserted(ids[0])
        return ids

    def _new_ids(self, count: int) -> list[int]:
        """The ids the new customers get, given here so that no query has to find them
        after. SQLite: from one more than the largest on (what SQLite would give; the
        import holds the write lock, BEGIN IMMEDIATE, so nothing else inserts
        meanwhile). PostgreSQL: taken from the id sequence."""
        if self.pg:
            rows = self.conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('customers', 'id')) "
                "FROM generate_series(1, %s)",
                (count,),
            )
            return [int(row[0]) for row in rows]
        first = self.conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM customers")
        start = int(first.scalar_one())
        return list(range(start, start + count))

    def update(self, pairs: list[tuple[Record, int]]) -> None:
        if not pairs:
            return
        self._prepare([r for r, _ in pairs])
        write_updates(self.conn, [(r, cid, self._group_for(r)) for r, cid in pairs], self.now)

    def link(self, pairs: list[tuple[Record, int]]) -> None:
        """Tags, the import's location and the "import" channel of every new or merged customer."""
        if not pairs:
            return
        tag_rows = [(cid, tag_id) for r, cid in pairs for tag_id in self._tag_ids_of(r)]
        loc_rows = [(cid, self.location_id) for _, cid in pairs]
        channel_rows = [(cid, IMPORT_CHANNEL, self.tenant_id) for _, cid in pairs]
        for table, keys, rows in (
            (schema.customer_tags, ("customer_id", "tag_id"), tag_rows),
            (schema.customer_locations, ("customer_id", "location_id"), loc_rows),
            # the tenant too: a channel's customers are counted from its index (0017)
            (schema.customer_channels, ("customer_id", "channel", "tenant_id"), channel_rows),
        ):
            if self.pg:
                insert_ignore_arrays(self.conn, table, keys, rows)
            else:
                insert_ignore_json(self.conn, table, keys, rows)


class _NameIndex:
    """SQLite's customer-search index (FTS5, migration 0009) filled once per import.

    Its per-row insert trigger made the import's inserts ~5x slower (7.5 s
    instead of 1.4 s for 20,000 rows): the trigger is dropped inside the
    import's own write transaction (SQLite has one writer, so no other insert
    can miss it), and `finish()` indexes every customer the import added (ids
    from the first batch's first on: the import holds the write lock, so all
    of them are its own) with one INSERT ... SELECT, then puts the trigger
    back. One statement instead of one per batch: FTS5 wrote a segment per
    batch (100 for 100,000 rows) and, automerge on, merged them again and
    again (2.3 s CPU instead of 1.3 s with `search_merges.quiet`, which
    the caller holds around the import). A failed import rolls all of it
    back, the trigger included (SQLite's DDL is transactional).
    """

    TRIGGER = "customers_search_fts_ai"

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sql: str | None = None
        self.first: int | None = None  # the first id the import added
        if conn.dialect.name == "sqlite":
            self.sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                (self.TRIGGER,),
            ).scalar()
            if self.sql:
                conn.exec_driver_sql(f"DROP TRIGGER {self.TRIGGER}")

    def inserted(self, first: int) -> None:
        """Customers were inserted with ids from `first` on (indexed by `finish`)."""
        if self.first is None:
            self.first = first

    def finish(self) -> None:
        """Index the customers the import added and put the trigger back."""
        if self.sql:
            if self.first is not None:
                self.conn.exec_driver_sql(
                    "INSERT INTO customers_search_fts(rowid, doc) SELECT id, "
                    "pl_search_doc(name, email, external_code, phone) FROM customers "
                    "WHERE id >= ?",
                    (self.first,),
                )
            self.conn.exec_driver_sql(self.sql)
            self.sql = None
