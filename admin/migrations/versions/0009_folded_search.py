"""customer search as people type: accents, đ, part of an e-mail, POS code, last digits

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:50:00

Both databases search one folded document per customer
(admin/customers/search_text.py: folded name | e-mail | POS code | national
phone). SQLite: ``customers_search_fts`` (FTS5 trigram, the document stored)
kept by three triggers calling ``pl_search_doc`` (registered on every
connection by admin/db.py), backfilled here; it replaces 0004's
``customers_name_fts`` over the raw name. PostgreSQL: an IMMUTABLE SQL
function ``pl_search_doc`` (translate() built from the same fold) and a
pg_trgm GIN index on it (``ix_customers_search_trgm``); the index build is
the backfill.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from porchlight.admin.customers.search_text import pg_translate_table, search_doc

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TRIGGERS = {
    "customers_search_fts_ai": (
        "CREATE TRIGGER customers_search_fts_ai AFTER INSERT ON customers BEGIN "
        "INSERT INTO customers_search_fts(rowid, doc) VALUES "
        "(new.id, pl_search_doc(new.name, new.email, new.external_code, new.phone)); END"
    ),
    "customers_search_fts_ad": (
        "CREATE TRIGGER customers_search_fts_ad AFTER DELETE ON customers BEGIN "
        "DELETE FROM customers_search_fts WHERE rowid = old.id; END"
    ),
    "customers_search_fts_au": (
        "CREATE TRIGGER customers_search_fts_au AFTER UPDATE OF name, email, external_code, "
        "phone ON customers BEGIN "
        "UPDATE customers_search_fts SET doc = "
        "pl_search_doc(new.name, new.email, new.external_code, new.phone) "
        "WHERE rowid = new.id; END"
    ),
}
OLD_TRIGGERS = ("customers_name_fts_ai", "customers_name_fts_ad", "customers_name_fts_au")


def _pg_function() -> str:
    source, target = pg_translate_table()
    s, t = source.replace("'", "''"), target.replace("'", "''")
    folded = f"regexp_replace(lower(translate(coalesce(n, ''), '{s}', '{t}')), '\\s+', ' ', 'g')"
    phone = "replace(regexp_replace(coalesce(p, ''), '^\\+(84|66)', '0'), '+', '')"
    return (
        "CREATE OR REPLACE FUNCTION pl_search_doc(n text, e text, c text, p text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT "
        f"btrim({folded}) || ' | ' || lower(coalesce(e, '')) || ' | ' || "
        f"lower(coalesce(c, '')) || ' | ' || {phone} $$"
    )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_pg_function())
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_customers_search_trgm ON customers USING gin "
            "(pl_search_doc(name, email, external_code, phone) gin_trgm_ops)"
        )
        return
    for name in OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS customers_name_fts")
    op.execute("CREATE VIRTUAL TABLE customers_search_fts USING fts5(doc, tokenize='trigram')")
    last = 0
    while True:  # backfill in batches, through the same Python fold as the triggers
        rows = bind.execute(
            sa.text(
                "SELECT id, name, email, external_code, phone FROM customers "
                "WHERE id > :last ORDER BY id LIMIT 5000"
            ),
            {"last": last},
        ).all()
        if not rows:
            break
        bind.execute(
            sa.text("INSERT INTO customers_search_fts(rowid, doc) VALUES (:id, :doc)"),
            [
                {"id": r.id, "doc": search_doc(r.name, r.email, r.external_code, r.phone)}
                for r in rows
            ],
        )
        last = rows[-1].id
    for sql in TRIGGERS.values():
        op.execute(sql)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_customers_search_trgm")
        op.execute("DROP FUNCTION IF EXISTS pl_search_doc(text, text, text, text)")
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS customers_search_fts")
    op.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS customers_name_fts USING fts5("
        "name, content='customers', content_rowid='id', tokenize='trigram')"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS customers_name_fts_ai AFTER INSERT ON customers BEGIN "
        "INSERT INTO customers_name_fts(rowid, name) VALUES (new.id, new.name); END"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS customers_name_fts_ad AFTER DELETE ON customers BEGIN "
        "INSERT INTO customers_name_fts(customers_name_fts, rowid, name) "
        "VALUES ('delete', old.id, old.name); END"
    )
    op.execute(
        "CREATE TRIGGER IF NOT EXISTS customers_name_fts_au AFTER UPDATE OF name ON customers "
        "BEGIN INSERT INTO customers_name_fts(customers_name_fts, rowid, name) "
        "VALUES ('delete', old.id, old.name); "
        "INSERT INTO customers_name_fts(rowid, name) VALUES (new.id, new.name); END"
    )
    op.execute("INSERT INTO customers_name_fts(customers_name_fts) VALUES ('rebuild')")
