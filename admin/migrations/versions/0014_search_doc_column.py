"""PostgreSQL: the folded search document as a stored column (customer search at 1M)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:25:00

Migration 0009 indexed the expression ``pl_search_doc(name, email,
external_code, phone)``. Checking a row against it means folding the row
again: translate() over a 600-letter table, 180 µs a row. Every trigram
match is rechecked that way, and a list page that walks its sort index
checks row after row: at 1,000,000 customers ``8509`` took 11.7 s for its
first page and counting ``nguyen`` 3.6 s (benchmarks/customer_search.py).

- ``pl_search_doc`` folds as `search_text.fold` does it, step by step:
  normalize(NFD), drop the marks U+0300-U+036F, normalize(NFC), đ/Đ, lower,
  spaces (26 µs a row instead of 180; the same text as Python's fold for
  3,000 generated names and the odd ones: ligatures, fullwidth, ø, ẞ);
- the document is stored once per write (a generated column of that
  function): the check is a plain LIKE on a text column, and ANALYZE keeps
  statistics on it, so the planner chooses between the trigram index and the
  sort index on real numbers;
- the trigram index moves to the column (``ix_customers_search_doc_trgm``);
  0009's expression index (dropped before the function changes, it holds the
  old function's values) and 0003's ``lower(name)`` index (unused since 0009)
  go.

Adding the column rewrites the table and builds the index, the table locked:
minutes at a million customers. SQLite: nothing (its FTS5 table already
stores the document).
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

DOC = "pl_search_doc(name, email, external_code, phone)"
FOLDED = (
    "btrim(regexp_replace(lower(replace(replace(normalize(regexp_replace("
    "normalize(coalesce(n, ''), NFD), '[\\u0300-\\u036f]', '', 'g'), NFC), "
    "'đ', 'd'), 'Đ', 'D')), '\\s+', ' ', 'g'))"
)
PHONE = "replace(regexp_replace(coalesce(p, ''), '^\\+(84|66)', '0'), '+', '')"
FUNCTION = (
    "CREATE OR REPLACE FUNCTION pl_search_doc(n text, e text, c text, p text) RETURNS text "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT "
    f"{FOLDED} || ' | ' || lower(coalesce(e, '')) || ' | ' || "
    f"lower(coalesce(c, '')) || ' | ' || {PHONE} $$"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_customers_search_trgm")
    op.execute(FUNCTION)
    op.execute(
        f"ALTER TABLE customers ADD COLUMN IF NOT EXISTS search_doc text "
        f"GENERATED ALWAYS AS ({DOC}) STORED"
    )
    # a finer histogram: LIKE '%...%' is estimated by matching its sample
    op.execute("ALTER TABLE customers ALTER COLUMN search_doc SET STATISTICS 1000")
    op.execute("DROP INDEX IF EXISTS ix_customers_name_trgm")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_customers_search_doc_trgm ON customers "
        "USING gin (search_doc gin_trgm_ops)"
    )


def _0009_function() -> str:
    from porchlight.admin.customers.search_text import pg_translate_table

    source, target = pg_translate_table()
    s, t = source.replace("'", "''"), target.replace("'", "''")
    folded = f"regexp_replace(lower(translate(coalesce(n, ''), '{s}', '{t}')), '\\s+', ' ', 'g')"
    return (
        "CREATE OR REPLACE FUNCTION pl_search_doc(n text, e text, c text, p text) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT "
        f"btrim({folded}) || ' | ' || lower(coalesce(e, '')) || ' | ' || "
        f"lower(coalesce(c, '')) || ' | ' || {PHONE} $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_customers_search_doc_trgm")
    op.execute("ALTER TABLE customers DROP COLUMN IF EXISTS search_doc")
    op.execute(_0009_function())
    op.execute(
        f"CREATE INDEX IF NOT EXISTS ix_customers_search_trgm ON customers "
        f"USING gin ({DOC} gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_customers_name_trgm ON customers "
        "USING gin (lower(name) gin_trgm_ops)"
    )
