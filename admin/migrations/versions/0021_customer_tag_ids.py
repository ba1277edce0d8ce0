"""PostgreSQL: each customer's tag ids on the row, and in the last-visit index

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 21:40:00

The customer list filtered by tags walks its sort index and asks
``customer_tags`` about each customer it passes: for two tags that each
tenth customer has, ~6,200 customers and ~6,800 index probes for a page of
50 at 1,000,000 customers (13 ms of the server's time, the page 45-60 ms;
issue 18: < 50). Here:

- ``customers.tag_ids`` (integer[], sorted, '{}' when none) holds the row's
  tag ids. Statement triggers on ``customer_tags`` keep it: rows added are
  merged into it, rows removed taken out, each from the row's current value
  (so two transactions tagging one customer at once both count: a waiting
  UPDATE re-reads the row it waited for). A row that has the ids already is
  not written again: an import gives its new customers their ids in its COPY
  (each UPDATE rewrites the row and all 15 of its indexes, the trigram one
  included: 100,000 new links took 43 s instead of 5 s that way). Every writer (the router's logins,
  imports by COPY, the customer page, merges, deletes by cascade) goes through
  them; ``customer_tags`` stays the table the rest of the code reads.
- ``ix_customers_tenant_last_visit`` carries it (INCLUDE): the default list
  checks ``tag_ids @> ARRAY[...]`` in the index it walks (2 ms at 1M).

Filling it rewrites each tagged customer (at 1M, 600,000 of them: ~110 s on
2 cores; the whole migration 2 min 27 s) and the index is built again, the
table locked for writes. Until autovacuum (or VACUUM ANALYZE customers) has
been through, counts that read indexes alone visit the table as well.
SQLite: nothing (its list walks the same probes in ~20-30 ms a page).
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# Each from the row's current value (a waiting UPDATE re-reads the row it waited for).
ADD = """
  UPDATE customers c
     SET tag_ids = ARRAY(SELECT DISTINCT x FROM unnest(c.tag_ids || a.ids) AS x ORDER BY x)
    FROM (SELECT customer_id, array_agg(tag_id) AS ids FROM pl_added GROUP BY customer_id) a
   WHERE c.id = a.customer_id AND NOT c.tag_ids @> a.ids;
"""
TAKE_OUT = """
  UPDATE customers c
     SET tag_ids = ARRAY(SELECT x FROM unnest(c.tag_ids) AS x WHERE x <> ALL (r.ids) ORDER BY x)
    FROM (SELECT customer_id, array_agg(tag_id) AS ids FROM pl_removed GROUP BY customer_id) r
   WHERE c.id = r.customer_id;
"""


def _function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION pl_customer_tags_{name}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$"
    )


FUNCTIONS = (
    _function("added", ADD),
    _function("removed", TAKE_OUT),
    _function("moved", TAKE_OUT + ADD),
)

TRIGGERS = (
    "CREATE TRIGGER pl_customer_tags_added AFTER INSERT ON customer_tags "
    "REFERENCING NEW TABLE AS pl_added FOR EACH STATEMENT "
    "EXECUTE FUNCTION pl_customer_tags_added()",
    "CREATE TRIGGER pl_customer_tags_removed AFTER DELETE ON customer_tags "
    "REFERENCING OLD TABLE AS pl_removed FOR EACH STATEMENT "
    "EXECUTE FUNCTION pl_customer_tags_removed()",
    "CREATE TRIGGER pl_customer_tags_moved AFTER UPDATE ON customer_tags "
    "REFERENCING OLD TABLE AS pl_removed NEW TABLE AS pl_added FOR EACH STATEMENT "
    "EXECUTE FUNCTION pl_customer_tags_moved()",
)

FILL = """
UPDATE customers c SET tag_ids = t.ids
  FROM (SELECT customer_id, array_agg(tag_id ORDER BY tag_id) AS ids
          FROM customer_tags GROUP BY customer_id) t
 WHERE c.id = t.customer_id AND c.tag_ids IS DISTINCT FROM t.ids
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("LOCK TABLE customers, customer_tags IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "ALTER TABLE customers ADD COLUMN IF NOT EXISTS tag_ids integer[] NOT NULL DEFAULT '{}'"
    )
    for function in FUNCTIONS:
        op.execute(function)
    for name in ("added", "removed", "moved"):
        op.execute(f"DROP TRIGGER IF EXISTS pl_customer_tags_{name} ON customer_tags")
    for trigger in TRIGGERS:
        op.execute(trigger)
    op.execute(FILL)
    op.execute("DROP INDEX IF EXISTS ix_customers_tenant_last_visit")
    op.execute(
        "CREATE INDEX ix_customers_tenant_last_visit ON customers "
        "(tenant_id, last_visit_at, id) INCLUDE (tag_ids)"
    )
    op.execute("ANALYZE customers")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in ("added", "removed", "moved"):
        op.execute(f"DROP TRIGGER IF EXISTS pl_customer_tags_{name} ON customer_tags")
        op.execute(f"DROP FUNCTION IF EXISTS pl_customer_tags_{name}()")
    op.execute("DROP INDEX IF EXISTS ix_customers_tenant_last_visit")
    op.execute("ALTER TABLE customers DROP COLUMN IF EXISTS tag_ids")
    op.execute(
        "CREATE INDEX ix_customers_tenant_last_visit ON customers (tenant_id, last_visit_at, id)"
    )
