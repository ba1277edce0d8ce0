"""Customers, their visits and the rest that is theirs (tags, groups, devices, consents)."""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime, metadata
from porchlight.admin.schema.columns import created, fk

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    # A customer with at least min_visits visits falls in the group with the
    # highest threshold they reach; NULL = a manual-only group.
    sa.Column("min_visits", sa.Integer),
    sa.Column("color", sa.String(7)),
    sa.UniqueConstraint("tenant_id", "name"),
)


customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("phone", sa.String(20)),  # E.164
    sa.Column("email", sa.String(254)),  # lower-cased
    sa.Column("social_provider", sa.String(20)),
    sa.Column("social_id", sa.String(200)),
    sa.Column("external_code", sa.String(100)),  # POS customer code
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    sa.Column("address", sa.String(500)),
    sa.Column("province", sa.String(100)),
    sa.Column("postal_code", sa.String(20)),
    sa.Column("birthday", sa.Date),
    sa.Column("gender", sa.String(10)),
    sa.Column("group_id", sa.Integer, fk("groups.id", ondelete="SET NULL")),
    sa.Column("group_fixed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("visit_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("spend_total", sa.Numeric(16, 2), nullable=False, server_default="0"),
    sa.Column("first_visit_at", UTCDateTime()),
    sa.Column("last_visit_at", UTCDateTime()),
    sa.Column("last_channel", sa.String(20)),
    sa.Column("last_location_id", sa.Integer, fk("locations.id", ondelete="SET NULL")),
    created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index(
        "uq_customers_tenant_phone",
        "tenant_id",
        "phone",
        unique=True,
        sqlite_where=sa.text("phone IS NOT NULL"),
        postgresql_where=sa.text("phone IS NOT NULL"),
    ),
    sa.Index("ix_customers_tenant_email", "tenant_id", "email"),
    sa.Index("ix_customers_tenant_social", "tenant_id", "social_provider", "social_id"),
    sa.Index("ix_customers_tenant_visits", "tenant_id", "visit_count", "id"),
    sa.Index("ix_customers_tenant_spend", "tenant_id", "spend_total", "id"),
    sa.Index("ix_customers_tenant_last_visit", "tenant_id", "last_visit_at", "id"),
    sa.Index("ix_customers_tenant_name", "tenant_id", "name", "id"),
    sa.Index("ix_customers_tenant_updated", "tenant_id", "updated_at", "id"),
    sa.Index("ix_customers_tenant_group", "tenant_id", "group_id", "id"),
    # PostgreSQL: with the id, a count beside a province reads the index alone (0019)
    sa.Index(
        "ix_customers_tenant_province",
        "tenant_id",
        "province",
        "postal_code",
        postgresql_include=["id"],
    ),
    sa.Index("ix_customers_tenant_channel", "tenant_id", "last_channel", "id"),
    # Free text matches external_code exactly (OR part of the name): indexed so
    # the OR need not scan. On PostgreSQL migration 0003 also adds a pg_trgm
    # GIN index on lower(name) (ix_customers_name_trgm), not declared here
    # because SQLite has no such index type.
    sa.Index("ix_customers_tenant_external", "tenant_id", "external_code"),
    # The dashboard's "new customers" count (first_visit_at >= start) and any
    # first-visit ordering (migration 0005).
    sa.Index("ix_customers_tenant_first_visit", "tenant_id", "first_visit_at"),
)


# Per-location counters: the per-location list and the manager's scope.
customer_locations = sa.Table(
    "customer_locations",
    metadata,
    sa.Column("customer_id", sa.Integer, fk("customers.id"), primary_key=True),
    sa.Column("location_id", sa.Integer, fk("locations.id"), primary_key=True),
    sa.Column("visit_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_visit_at", UTCDateTime()),
    sa.Column("last_visit_at", UTCDateTime()),
    sa.Index("ix_customer_locations_loc_visits", "location_id", "visit_count", "customer_id"),
    sa.Index("ix_customer_locations_loc_last", "location_id", "last_visit_at", "customer_id"),
    # A location's new customers in a period (the dashboard): a range, no table reads.
    sa.Index("ix_customer_locations_loc_first", "location_id", "first_visit_at", "customer_id"),
)


# Every channel a customer has logged in with (filter "login channel").
customer_channels = sa.Table(
    "customer_channels",
    metadata,
    sa.Column("customer_id", sa.Integer, fk("customers.id"), primary_key=True),
    sa.Column("channel", sa.String(20), primary_key=True),
    # The customer's tenant (never changes): a channel's customers are counted
    # from ix_customer_channels_tenant_channel alone, customers unread (0017).
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    # The customer's last visit through this channel (None: never, e.g. "import"):
    # the dashboard's customers per channel (channel_hours, migration 0015).
    sa.Column("last_visit_at", UTCDateTime()),
    sa.Index("ix_customer_channels_tenant_channel", "tenant_id", "channel", "customer_id"),
)


tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("name", sa.String(50), nullable=False),
    sa.UniqueConstraint("tenant_id", "name"),
)


customer_tags = sa.Table(
    "customer_tags",
    metadata,
    sa.Column("customer_id", sa.Integer, fk("customers.id"), primary_key=True),
    sa.Column("tag_id", sa.Integer, fk("tags.id"), primary_key=True),
    sa.Index("ix_customer_tags_tag", "tag_id", "customer_id"),
)


visits = sa.Table(
    "visits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("customer_id", sa.Integer, fk("customers.id"), nullable=False),
    sa.Column("location_id", sa.Integer, fk("locations.id"), nullable=False),
    sa.Column("router_id", sa.Integer, fk("routers.id", ondelete="SET NULL")),
    sa.Column("session_id", sa.String(64)),
    sa.Column("mac", sa.String(17)),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),  # router's clock
    sa.Column("received_at", UTCDateTime(), nullable=False),  # admin's clock
    sa.Column("ended_at", UTCDateTime()),
    sa.Column("dwell_seconds", sa.Integer),
    sa.Column("bytes_in", sa.BigInteger),
    sa.Column("bytes_out", sa.BigInteger),
    sa.Index("ix_visits_customer_started", "customer_id", "started_at"),
    # A location's visits in a period, and its customers per channel (the dashboard
    # of one location or a manager's) from the index alone.
    sa.Index("ix_visits_location_started", "location_id", "started_at", "channel", "customer_id"),
    sa.Index("ix_visits_tenant_started", "tenant_id", "started_at"),
    # Covers the dashboard's "customers per login channel" over a period
    # (distinct customers cannot be rolled up per day): no table lookups.
    sa.Index(
        "ix_visits_tenant_started_channel", "tenant_id", "started_at", "channel", "customer_id"
    ),
    sa.Index("ix_visits_router_session", "router_id", "session_id"),
)


# Visits per location per UTC hour ("hours since 1970"): the dashboard's
# visits per day and busiest hours (admin/customers/visit_rollup.py keeps it).
visit_hours = sa.Table(
    "visit_hours",
    metadata,
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("location_id", sa.Integer, fk("locations.id"), primary_key=True),
    sa.Column("hour", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("visits", sa.Integer, nullable=False, server_default="0"),
    # Covering: the dashboard sums a tenant's hours from the index alone (migration 0016).
    sa.Index("ix_visit_hours_tenant_hour_visits", "tenant_id", "hour", "visits"),
)


# Customers per login channel by the UTC hour of their last visit through it
# (customer_channels.last_visit_at): the dashboard's distinct customers per
# channel since a whole hour are a sum (admin/customers/channel_rollup.py).
channel_hours = sa.Table(
    "channel_hours",
    metadata,
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), primary_key=True),
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("hour", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("customers", sa.Integer, nullable=False, server_default="0"),
)


# Customers per tenant by the UTC hour of their first and of their last visit:
# the dashboard's new and returning customers (admin/customers/customer_rollup.py).
customer_hours = sa.Table(
    "customer_hours",
    metadata,
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), primary_key=True),
    sa.Column("hour", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("firsts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lasts", sa.Integer, nullable=False, server_default="0"),
)


devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("customer_id", sa.Integer, fk("customers.id"), nullable=False),
    sa.Column("mac", sa.String(17), nullable=False),
    sa.Column("hostname", sa.String(200)),
    sa.Column("vendor_class", sa.String(200)),
    sa.Column("randomized", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("first_seen_at", UTCDateTime(), nullable=False),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("customer_id", "mac"),
    # Returning-device look-up: the tenant's newest customer on a MAC
    # (ingest_customers._by_device), read straight off the index (migration 0005).
    sa.Index("ix_devices_tenant_mac", "tenant_id", "mac", "last_seen_at"),
    # Retention prunes devices unseen for the device window (migration 0006).
    sa.Index("ix_devices_tenant_last_seen", "tenant_id", "last_seen_at"),
)


consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("customer_id", sa.Integer, fk("customers.id"), nullable=False, index=True),
    sa.Column("purpose", sa.String(20), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("text_version", sa.String(200), nullable=False),
    sa.Column("location_id", sa.Integer, fk("locations.id", ondelete="SET NULL")),
    sa.Column("mac", sa.String(17)),
    sa.Column("given_at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    # Retention clears old answers' MACs; the newest answer per purpose is the
    # current consent (list filter, marketing exports) (migration 0006).
    sa.Index("ix_consents_tenant_given", "tenant_id", "given_at"),
    sa.Index("ix_consents_customer_purpose", "customer_id", "purpose", "given_at"),
)


# Rows a user ticked in the customer list (kept across pages for export).
customer_selections = sa.Table(
    "customer_selections",
    metadata,
    sa.Column("user_id", sa.Integer, fk("users.id"), primary_key=True),
    sa.Column("customer_id", sa.Integer, fk("customers.id"), primary_key=True),
    # Erasing a customer cascades here by customer_id (migration 0018).
    sa.Index("ix_customer_selections_customer_id", "customer_id"),
)


# The list a user's selection was made on (its filters' query string, 0007):
# the selection belongs to that list only and is cleared once exported.
customer_selection_lists = sa.Table(
    "customer_selection_lists",
    metadata,
    sa.Column("user_id", sa.Integer, fk("users.id"), primary_key=True, autoincrement=False),
    sa.Column("filters", sa.String(2000), nullable=False),
    sa.Column("made_at", UTCDateTime(), nullable=False),
)
