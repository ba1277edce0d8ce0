"""customer name search on SQLite: FTS5 trigram index over customers.name

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 19:40:00

SQLite's ``lower(name) LIKE '%…%'`` reads every customer (288-324 ms p95 at
200,000 customers for a rare or unmatched name). ``customers_name_fts`` is
an FTS5 external-content table over ``customers.name`` with the trigram
tokenizer (case-insensitive substring search for 3+ characters), kept in
step by three triggers; admin/customer_query.py ``text_condition`` asks it
on SQLite. PostgreSQL has its pg_trgm GIN index (0003): nothing to do there.
The table and triggers are not in admin/schema.py's metadata (SQLite only).
admin/seed.py drops the triggers while bulk-loading and rebuilds once.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TRIGGERS = {
    "customers_name_fts_ai": (
        "CREATE TRIGGER IF NOT EXISTS customers_name_fts_ai AFTER INSERT ON customers BEGIN "
        "INSERT INTO customers_name_fts(rowid, name) VALUES (new.id, new.name); END"
    ),
    "customers_name_fts_ad": (
        "CREATE TRIGGER IF NOT EXISTS customers_name_fts_ad AFTER DELETE ON customers BEGIN "
        "INSERT INTO customers_name_fts(customers_name_fts, rowid, name) VALUES ('delete', old.id, old.name); END"
    ),
    "customers_name_fts_au": (
        "CREATE TRIGGER IF NOT EXISTS customers_name_fts_au AFTER UPDATE OF name ON customers "
        "BEGIN INSERT INTO customers_name_fts(customers_name_fts, rowid, name) VALUES ('delete', old.id, old.name); "
        "INSERT INTO customers_name_fts(rowid, name) VALUES (new.id, new.name); END"
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS customers_name_fts USING fts5("
        "name, content='customers', content_rowid='id', tokenize='trigram')"
    )
    for sql in TRIGGERS.values():
        op.execute(sql)
    op.execute("INSERT INTO customers_name_fts(customers_name_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS customers_name_fts_ai")
    op.execute("DROP TRIGGER IF EXISTS customers_name_fts_ad")
    op.execute("DROP TRIGGER IF EXISTS customers_name_fts_au")
    op.execute("DROP TABLE IF EXISTS customers_name_fts")
