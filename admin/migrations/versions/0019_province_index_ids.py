"""customer list: PostgreSQL's province index carries the customer id (a count beside a province)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 16:40:00

Counting the customers of a province who logged in through a channel joins
the province's customers to the channel's range of
``ix_customer_channels_tenant_channel`` (0017) by id. PostgreSQL took each
id from the table: 180,000 customers of Hà Nội at 1,000,000 spread over
nearly every page (count channel + province 580-690 ms, issue 18: < 300).
``ix_customers_tenant_province`` now INCLUDEs ``id``, so that side reads the
index alone (EXPLAIN ANALYZE at 1M, load ~7: 251 ms). SQLite's indexes end
with the rowid (``customers.id``) already: nothing to do there.

Built with the table locked for writes, about 5 s at 1,000,000 customers.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

COLUMNS = "tenant_id, province, postal_code"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_customers_tenant_province")
    op.execute(f"CREATE INDEX ix_customers_tenant_province ON customers ({COLUMNS}) INCLUDE (id)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_customers_tenant_province")
    op.execute(f"CREATE INDEX ix_customers_tenant_province ON customers ({COLUMNS})")
