"""The audit log in words, in the reader's language, never raw keys or JSON."""

from __future__ import annotations

from porchlight.admin import schema
from porchlight.admin.db import utcnow


def test_audit_rows_read_as_sentences(engine, world, owner_client):
    owner = world.users["owner"]
    with engine.begin() as conn:
        for action, target, details in (
            ("customers.export", "export", {"rows": 164, "format": "xlsx", "scope": "filtered"}),
            ("customers.import", "location", {"file": "kv.xlsx", "added": 3, "merged": 2,
                                              "skipped": 1}),
            ("group_add", "group", {"name": "VIP"}),
        ):  # fmt: skip
            conn.execute(
                schema.audit_log.insert().values(
                    tenant_id=world.tenant_id, user_id=owner["id"], action=action,
                    target_type=target, target_id="7", details=details, at=utcnow(),
                )
            )  # fmt: skip
    page = owner_client.get("/audit").get_data(as_text=True)
    assert "Owner exported 164 customers as XLSX" in page  # the user by name
    assert "kv.xlsx: 3 added, 2 merged, 1 skipped" in page
    assert "group add (group #7)" in page  # no sentence of its own: the action in words
    assert '{"' not in page and "&#34;rows&#34;" not in page  # no JSON
