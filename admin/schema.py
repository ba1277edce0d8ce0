"""Admin tables (SQLAlchemy Core). Change only together with a new Alembic revision.

Customers belong to a tenant and are identified by normalized phone, then
email, then social ID — never by MAC. Counters (`visit_count`,
`last_visit_at`...) are kept on the customer row, and per location in
`customer_locations`, so list pages sort and filter on indexed columns instead
of aggregating ten million visits.
"""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime, metadata

ROLES = ("owner", "manager", "viewer")
JOB_KINDS = ("import", "export", "retention")
JOB_STATES = ("queued", "running", "done", "failed")


def _fk(target: str, **kw: object) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete=str(kw.pop("ondelete", "CASCADE")))


def _created() -> sa.Column[object]:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(60), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("country", sa.String(2), nullable=False, server_default="VN"),
    _created(),
)

locations = sa.Table(
    "locations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.String(500)),
    sa.Column("province", sa.String(100)),
    sa.Column("postal_code", sa.String(20)),
    sa.Column("country", sa.String(2), nullable=False, server_default="VN"),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Ho_Chi_Minh"),
    sa.Column("opening_hours", sa.JSON),
    sa.Column("archived_at", UTCDateTime()),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("tenant_id", "name"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("locale", sa.String(5), nullable=False, server_default="vi"),
    sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
    # Bumped on password change/reset so old sessions stop working.
    sa.Column("session_version", sa.Integer, nullable=False, server_default="1"),
    _created(),
    sa.Column("last_login_at", UTCDateTime()),
    sa.CheckConstraint("role IN ('owner', 'manager', 'viewer')", name="role"),
)

# One row per signed-in browser (admin/sessions.py, migration 0007): the
# signed cookie holds a random token whose SHA-256 is `token_hash`. Deleting
# rows ends sessions at once (sign-out, sign out everywhere, a password or
# role change, the user removed).
user_sessions = sa.Table(
    "user_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, _fk("users.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    _created(),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Column("ip", sa.String(45)),
    sa.Column("user_agent", sa.String(200)),
    sa.Index("ix_user_sessions_user", "user_id"),
)

user_locations = sa.Table(
    "user_locations",
    metadata,
    sa.Column("user_id", sa.Integer, _fk("users.id"), primary_key=True),
    sa.Column("location_id", sa.Integer, _fk("locations.id"), primary_key=True),
)

# Sliding-window counters for login and API rate limits, shared by all workers.
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("window_start", UTCDateTime(), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
)

routers = sa.Table(
    "routers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("location_id", sa.Integer, _fk("locations.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("enroll_code_hash", sa.String(128), unique=True),
    sa.Column("enroll_expires_at", UTCDateTime()),
    sa.Column("enrolled_at", UTCDateTime()),
    sa.Column("token_hash", sa.String(128), unique=True),
    sa.Column("token_prefix", sa.String(12)),
    sa.Column("revoked_at", UTCDateTime()),
    sa.Column("hostname", sa.String(200)),
    sa.Column("last_seen_at", UTCDateTime()),
    sa.Column("agent_version", sa.String(40)),
    sa.Column("uptime_seconds", sa.BigInteger),
    sa.Column("clients_online", sa.Integer),
    sa.Column("outbox_depth", sa.Integer),
    sa.Column("config_etag", sa.String(80)),
    # Events the admin refused (409/422) that the agent parked, from its
    # heartbeat (migration 0005): the Routers page warns while > 0.
    sa.Column("rejected_events", sa.Integer),
    sa.Column("rejected_reason", sa.String(200)),
    # The router's clock minus the admin's, from heartbeats and batches (0007).
    sa.Column("clock_skew_seconds", sa.Integer),
    _created(),
)

# Routers flashed from deploy/build-image announce themselves with the tenant's
# adoption key (0008): they grant nothing until a manager adopts one into a
# location, which creates its `routers` row; the router then gets a one-time
# enrollment code on its next announce (only with its own secret) and enrolls.
adoption_keys = sa.Table(
    "adoption_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("key_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("revoked_at", UTCDateTime()),
    _created(),
)

router_announcements = sa.Table(
    "router_announcements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False, index=True),
    sa.Column("secret_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("serial", sa.String(64), nullable=False),
    sa.Column("macs", sa.JSON, nullable=False),
    sa.Column("agent_version", sa.String(40)),
    sa.Column("location_hint", sa.String(200)),
    sa.Column("remote_addr", sa.String(64)),
    sa.Column("last_seen_at", UTCDateTime(), nullable=False),
    sa.Column("router_id", sa.Integer, _fk("routers.id", ondelete="SET NULL")),
    sa.Column("adopted_at", UTCDateTime()),
    sa.Column("delivered_at", UTCDateTime()),
    _created(),
)

router_commands = sa.Table(
    "router_commands",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("router_id", sa.Integer, _fk("routers.id"), nullable=False, index=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    _created(),
    sa.Column("acked_at", UTCDateTime()),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
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
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
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
    sa.Column("group_id", sa.Integer, _fk("groups.id", ondelete="SET NULL")),
    sa.Column("group_fixed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("visit_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("spend_total", sa.Numeric(16, 2), nullable=False, server_default="0"),
    sa.Column("first_visit_at", UTCDateTime()),
    sa.Column("last_visit_at", UTCDateTime()),
    sa.Column("last_channel", sa.String(20)),
    sa.Column("last_location_id", sa.Integer, _fk("locations.id", ondelete="SET NULL")),
    _created(),
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
    sa.Index("ix_customers_tenant_province", "tenant_id", "province", "postal_code"),
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
    sa.Column("customer_id", sa.Integer, _fk("customers.id"), primary_key=True),
    sa.Column("location_id", sa.Integer, _fk("locations.id"), primary_key=True),
    sa.Column("visit_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("first_visit_at", UTCDateTime()),
    sa.Column("last_visit_at", UTCDateTime()),
    sa.Index("ix_customer_locations_loc_visits", "location_id", "visit_count", "customer_id"),
    sa.Index("ix_customer_locations_loc_last", "location_id", "last_visit_at", "customer_id"),
)

# Every channel a customer has logged in with (filter "login channel").
customer_channels = sa.Table(
    "customer_channels",
    metadata,
    sa.Column("customer_id", sa.Integer, _fk("customers.id"), primary_key=True),
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Index("ix_customer_channels_channel", "channel", "customer_id"),
)

tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("name", sa.String(50), nullable=False),
    sa.UniqueConstraint("tenant_id", "name"),
)

customer_tags = sa.Table(
    "customer_tags",
    metadata,
    sa.Column("customer_id", sa.Integer, _fk("customers.id"), primary_key=True),
    sa.Column("tag_id", sa.Integer, _fk("tags.id"), primary_key=True),
    sa.Index("ix_customer_tags_tag", "tag_id", "customer_id"),
)

visits = sa.Table(
    "visits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("customer_id", sa.Integer, _fk("customers.id"), nullable=False),
    sa.Column("location_id", sa.Integer, _fk("locations.id"), nullable=False),
    sa.Column("router_id", sa.Integer, _fk("routers.id", ondelete="SET NULL")),
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
    sa.Index("ix_visits_location_started", "location_id", "started_at"),
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
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("location_id", sa.Integer, _fk("locations.id"), primary_key=True),
    sa.Column("hour", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("visits", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_visit_hours_tenant_hour", "tenant_id", "hour"),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("customer_id", sa.Integer, _fk("customers.id"), nullable=False),
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
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("customer_id", sa.Integer, _fk("customers.id"), nullable=False, index=True),
    sa.Column("purpose", sa.String(20), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("text_version", sa.String(200), nullable=False),
    sa.Column("location_id", sa.Integer, _fk("locations.id", ondelete="SET NULL")),
    sa.Column("mac", sa.String(17)),
    sa.Column("given_at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    # Retention clears old answers' MACs; the newest answer per purpose is the
    # current consent (list filter, marketing exports) (migration 0006).
    sa.Index("ix_consents_tenant_given", "tenant_id", "given_at"),
    sa.Index("ix_consents_customer_purpose", "customer_id", "purpose", "given_at"),
)

# The exactly-once ledger: every event id the admin has applied.
sync_events = sa.Table(
    "sync_events",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("router_id", sa.Integer, _fk("routers.id", ondelete="SET NULL")),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
)

# A session_end that reached the admin before the login that opens its visit
# (an earlier batch, a reordered retry): kept here and applied, in the same
# transaction, when the visit arrives (admin/sync/ingest_ends.py, migration 0005).
# Rows for sessions that never get a visit (anonymous click-through) are
# pruned after PENDING_END_DAYS.
pending_session_ends = sa.Table(
    "pending_session_ends",
    metadata,
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("router_id", sa.Integer, _fk("routers.id"), nullable=False),
    sa.Column("session_id", sa.String(64), nullable=False),
    sa.Column("ended_at", UTCDateTime(), nullable=False),
    sa.Column("dwell_seconds", sa.Integer, nullable=False),
    sa.Column("bytes_in", sa.BigInteger, nullable=False),
    sa.Column("bytes_out", sa.BigInteger, nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Index("ix_pending_session_ends_router_session", "router_id", "session_id"),
    sa.Index("ix_pending_session_ends_received", "received_at"),
)

# Guest-page settings per location; every save is a new version (the ETag).
portal_settings = sa.Table(
    "portal_settings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("location_id", sa.Integer, _fk("locations.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("logo", sa.LargeBinary),
    sa.Column("logo_type", sa.String(40)),
    sa.Column("created_by", sa.Integer, _fk("users.id", ondelete="SET NULL")),
    _created(),
    sa.UniqueConstraint("location_id", "version"),
)

voucher_batches = sa.Table(
    "voucher_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("location_id", sa.Integer, _fk("locations.id"), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("duration_seconds", sa.Integer, nullable=False),
    sa.Column("max_uses", sa.Integer, nullable=False),
    sa.Column("max_devices", sa.Integer, nullable=False),
    sa.Column("expires_at", UTCDateTime()),
    sa.Column("note", sa.String(200)),
    sa.Column("voided_at", UTCDateTime()),
    sa.Column("created_by", sa.Integer, _fk("users.id", ondelete="SET NULL")),
    _created(),
)

vouchers = sa.Table(
    "vouchers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("batch_id", sa.Integer, _fk("voucher_batches.id"), nullable=False, index=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("code", sa.String(20), nullable=False),
    sa.Column("uses", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("tenant_id", "code"),
)

voucher_uses = sa.Table(
    "voucher_uses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("voucher_id", sa.Integer, _fk("vouchers.id"), nullable=False, index=True),
    sa.Column("mac", sa.String(17), nullable=False),
    sa.Column("customer_id", sa.Integer, _fk("customers.id", ondelete="SET NULL")),
    sa.Column("used_at", UTCDateTime(), nullable=False),
    sa.Index("ix_voucher_uses_customer", "customer_id"),  # erasure sets it NULL (0006)
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default="queued"),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("progress", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total", sa.Integer),
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("file_path", sa.String(500)),
    sa.Column("created_by", sa.Integer, _fk("users.id", ondelete="SET NULL")),
    _created(),
    sa.Column("started_at", UTCDateTime()),
    sa.Column("heartbeat_at", UTCDateTime()),
    sa.Column("finished_at", UTCDateTime()),
    sa.Column("expires_at", UTCDateTime()),
    sa.Column("seen_at", UTCDateTime()),  # the requester saw the "ready" notice
    # The claiming worker's lease, renewed while the job runs; a running job
    # whose lease ran out lost its worker and can be retried (0007).
    sa.Column("lease_expires_at", UTCDateTime()),
    sa.Column("worker", sa.String(120)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Index("ix_jobs_status_created", "status", "created_at"),
    sa.Index("ix_jobs_tenant_created", "tenant_id", "created_at"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("user_id", sa.Integer, _fk("users.id", ondelete="SET NULL")),
    sa.Column("router_id", sa.Integer, _fk("routers.id", ondelete="SET NULL")),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("target_type", sa.String(40)),
    sa.Column("target_id", sa.String(60)),
    sa.Column("details", sa.JSON),
    sa.Column("ip", sa.String(45)),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_audit_log_tenant_at", "tenant_id", "at"),
)

# Rows a user ticked in the customer list (kept across pages for export).
customer_selections = sa.Table(
    "customer_selections",
    metadata,
    sa.Column("user_id", sa.Integer, _fk("users.id"), primary_key=True),
    sa.Column("customer_id", sa.Integer, _fk("customers.id"), primary_key=True),
)

# The list a user's selection was made on (its filters' query string, 0007):
# the selection belongs to that list only and is cleared once exported.
customer_selection_lists = sa.Table(
    "customer_selection_lists",
    metadata,
    sa.Column("user_id", sa.Integer, _fk("users.id"), primary_key=True, autoincrement=False),
    sa.Column("filters", sa.String(2000), nullable=False),
    sa.Column("made_at", UTCDateTime(), nullable=False),
)


# Retention per tenant (admin/privacy/retention.py, migration 0006); no row =
# the defaults, turned off.
privacy_settings = sa.Table(
    "privacy_settings",
    metadata,
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), primary_key=True, autoincrement=False),
    sa.Column("retention_enabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("customer_months", sa.Integer, nullable=False, server_default="24"),
    sa.Column("device_days", sa.Integer, nullable=False, server_default="90"),
    # Visits and consents older than this already lost their MACs and bytes.
    sa.Column("devices_pruned_before", UTCDateTime()),
    sa.Column("last_run_at", UTCDateTime()),
    sa.Column("last_result", sa.JSON),
    sa.Column("updated_by", sa.Integer, _fk("users.id", ondelete="SET NULL")),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# What guests asked from the portal's "My data" (an erasure), for the owner to
# confirm by `due_at` (admin/privacy/requests.py, migration 0006).
guest_requests = sa.Table(
    "guest_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, _fk("tenants.id"), nullable=False),
    sa.Column("customer_id", sa.Integer, _fk("customers.id", ondelete="SET NULL")),
    sa.Column("location_id", sa.Integer, _fk("locations.id", ondelete="SET NULL")),
    sa.Column("router_id", sa.Integer, _fk("routers.id", ondelete="SET NULL")),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(10), nullable=False, server_default="open"),
    sa.Column("requested_at", UTCDateTime(), nullable=False),  # router's clock
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("decided_at", UTCDateTime()),
    sa.Column("decided_by", sa.Integer, _fk("users.id", ondelete="SET NULL")),
    sa.Index("ix_guest_requests_tenant_status", "tenant_id", "status", "due_at"),
    sa.Index("ix_guest_requests_customer", "customer_id"),
)
