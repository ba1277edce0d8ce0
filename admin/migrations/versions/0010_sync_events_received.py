"""sync_events by received_at: /metrics reads the last minute's ingest

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 11:00:00

``GET /metrics`` (admin/metrics.py) counts the events applied in the last
minute and how late they came, and the newest one's age, on each scrape;
without this index both scan the whole ledger (10,000,000 rows for a chain).
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sync_events_received_at", "sync_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_sync_events_received_at", table_name="sync_events")
