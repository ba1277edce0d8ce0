"""Admin tables (SQLAlchemy Core), one module per area, all importable from here.

Change only together with a new Alembic revision (admin/migrations/versions/).

Customers belong to a tenant and are identified by normalized phone, then
email, then social ID — never by MAC. Counters (`visit_count`,
`last_visit_at`...) are kept on the customer row, and per location in
`customer_locations`, so list pages sort and filter on indexed columns instead
of aggregating ten million visits.
"""

from __future__ import annotations

from porchlight.admin.db import metadata
from porchlight.admin.schema.accounts import (
    ROLES,
    audit_log,
    rate_limits,
    tenants,
    user_locations,
    user_sessions,
    users,
)
from porchlight.admin.schema.chat_webhooks import (
    chat_pending,
    chat_webhook_seen,
    chat_webhooks,
    messenger_contacts,
)
from porchlight.admin.schema.customer_data import (
    channel_hours,
    consents,
    customer_channels,
    customer_hours,
    customer_locations,
    customer_selection_lists,
    customer_selections,
    customer_tags,
    customers,
    devices,
    groups,
    tags,
    visit_hours,
    visits,
)
from porchlight.admin.schema.io import JOB_KINDS, JOB_STATES, jobs
from porchlight.admin.schema.privacy import guest_requests, privacy_settings
from porchlight.admin.schema.router_sync import (
    adoption_keys,
    pending_session_ends,
    router_announcements,
    router_commands,
    routers,
    sync_events,
)
from porchlight.admin.schema.segments import customer_segments
from porchlight.admin.schema.venues import (
    locations,
    portal_settings,
    voucher_batches,
    voucher_uses,
    vouchers,
)

__all__ = [
    "customer_segments",
    "JOB_KINDS",
    "JOB_STATES",
    "ROLES",
    "adoption_keys",
    "audit_log",
    "channel_hours",
    "chat_pending",
    "chat_webhook_seen",
    "chat_webhooks",
    "consents",
    "customer_channels",
    "customer_hours",
    "customer_locations",
    "customer_selection_lists",
    "customer_selections",
    "customer_tags",
    "customers",
    "devices",
    "groups",
    "guest_requests",
    "jobs",
    "locations",
    "messenger_contacts",
    "metadata",
    "pending_session_ends",
    "portal_settings",
    "privacy_settings",
    "rate_limits",
    "router_announcements",
    "router_commands",
    "routers",
    "sync_events",
    "tags",
    "tenants",
    "user_locations",
    "user_sessions",
    "users",
    "visit_hours",
    "visits",
    "voucher_batches",
    "voucher_uses",
    "vouchers",
]
