"""locations: the Wi-Fi's name and password (voucher cards), and the ways in
that a location without saved guest-page settings starts with

New locations start with the form and welcome-back only (click-through,
vouchers and social logins are the venue's choice); the locations that exist
now keep the four they had: their `default_channels` is set here.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# What every location without saved settings offered before this revision.
EARLIER_DEFAULT = ["form", "click", "voucher", "returning"]


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of `locations` would DROP it with foreign
    # keys on, cascading into its routers, vouchers and settings.
    op.add_column("locations", sa.Column("wifi_ssid", sa.String(length=32), nullable=True))
    op.add_column("locations", sa.Column("wifi_password", sa.String(length=64), nullable=True))
    op.add_column("locations", sa.Column("default_channels", sa.JSON(), nullable=True))
    locations = sa.table("locations", sa.column("default_channels", sa.JSON()))
    op.execute(locations.update().values(default_channels=EARLIER_DEFAULT))


def downgrade() -> None:
    # Native DROP COLUMN (SQLite >= 3.35), for the same reason.
    op.execute("ALTER TABLE locations DROP COLUMN default_channels")
    op.execute("ALTER TABLE locations DROP COLUMN wifi_password")
    op.execute("ALTER TABLE locations DROP COLUMN wifi_ssid")
