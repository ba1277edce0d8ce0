"""What the chat platforms' webhooks need and leave (migration 0012).

- ``chat_webhooks``: per location, the token in its webhook URLs, the Zalo OA
  secret key and the Meta app secret (both encrypted, admin/chat/secret_box.py),
  the Messenger Page and the key that signs the Page's ``ref`` links;
- ``chat_webhook_seen``: digests of the deliveries already applied (replays
  are ignored), pruned after two days;
- ``chat_pending``: a follow or a Messenger referral whose customer the admin
  does not know yet, linked when their login arrives (kept 30 days);
- ``messenger_contacts``: a customer's page-scoped id (PSID) per Page.
"""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime, metadata
from porchlight.admin.schema.columns import fk

chat_webhooks = sa.Table(
    "chat_webhooks",
    metadata,
    sa.Column("location_id", sa.Integer, fk("locations.id"), primary_key=True, autoincrement=False),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("zalo_secret", sa.Text),  # encrypted OA secret key
    sa.Column("meta_app_secret", sa.Text),  # encrypted app secret
    sa.Column("meta_verify_token", sa.String(64), nullable=False),
    sa.Column("messenger_page", sa.String(100)),  # m.me/<page>
    sa.Column("messenger_page_id", sa.String(30)),
    sa.Column("ref_key", sa.String(64), nullable=False),
    sa.Column("updated_by", sa.Integer, fk("users.id", ondelete="SET NULL")),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)


chat_webhook_seen = sa.Table(
    "chat_webhook_seen",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("location_id", sa.Integer, fk("locations.id"), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("location_id", "digest"),
    sa.Index("ix_chat_webhook_seen_received_at", "received_at"),
)


chat_pending = sa.Table(
    "chat_pending",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("location_id", sa.Integer, fk("locations.id"), nullable=False),
    sa.Column("platform", sa.String(10), nullable=False),  # zalo | messenger
    # zalo: the login's social id (zalo:<user_id_by_app>); messenger: the session id
    sa.Column("link_key", sa.String(200), nullable=False),
    sa.Column("value", sa.String(100), nullable=False),  # zalo: the OA id; messenger: PSID
    sa.Column("granted", sa.Boolean),  # zalo: follow (true) or unfollow (false)
    sa.Column("page_id", sa.String(30)),  # messenger
    sa.Column("happened_at", UTCDateTime(), nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Index("ix_chat_pending_link", "tenant_id", "platform", "link_key"),
    sa.Index("ix_chat_pending_received_at", "received_at"),
)


messenger_contacts = sa.Table(
    "messenger_contacts",
    metadata,
    sa.Column("customer_id", sa.Integer, fk("customers.id"), primary_key=True),
    sa.Column("page_id", sa.String(30), primary_key=True),
    sa.Column("tenant_id", sa.Integer, fk("tenants.id"), nullable=False),
    sa.Column("location_id", sa.Integer, fk("locations.id"), nullable=False),
    sa.Column("psid", sa.String(30), nullable=False),
    sa.Column("linked_at", UTCDateTime(), nullable=False),
)
