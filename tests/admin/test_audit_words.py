"""The audit log in words, in the reader's language, never raw keys or JSON."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from porchlight.admin import schema
from porchlight.admin.audit_words import EXPORTS, SENTENCES, action_label
from porchlight.admin.db import utcnow

ADMIN = Path(__file__).resolve().parents[2] / "admin"


def _written_actions() -> set[str]:
    """Every audit action the admin writes: audit()/_audit() calls and audit_log inserts,
    with a string (or "prefix" + status / a IfExp of strings) as the action."""
    found: set[str] = set()
    for path in ADMIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            values = [node.args[1]] if name in ("audit", "_audit") and len(node.args) > 1 else []
            values += [k.value for k in node.keywords if k.arg == "action" and name == "values"]
            values += [k.value for k in node.keywords if k.arg == "action" and name == "_audit"]
            for value in values:
                found |= {
                    c.value
                    for c in ast.walk(value)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
    return found


STATUS_SUFFIXES = {  # actions built as prefix + a known word
    "guest_erasure_": ("erased", "declined", "requested"),
    "guest_consent_": ("given", "withdrawn"),
}


def test_every_action_written_has_a_sentence_and_a_label():
    written = set()
    for action in _written_actions():
        if action in STATUS_SUFFIXES:
            written |= {action + end for end in STATUS_SUFFIXES[action]}
        elif "." in action or "_" in action or action == "login":
            written.add(action)
    assert len(written) > 30  # the scan found the audit calls
    missing = sorted(a for a in written if a not in SENTENCES and a not in EXPORTS)
    assert not missing, f"audit actions without a sentence: {missing}"
    unlabelled = sorted(
        a for a in written if action_label(a) == a.replace("customers.", "").replace("_", " ")
    )
    assert not unlabelled, f"audit actions without a label for the filter: {unlabelled}"


@pytest.mark.parametrize(
    ("lang", "sentence", "label"),
    [
        ("vi", "Owner đã tạo nhóm “VIP”", "Nhóm đã tạo"),
        ("th", "Owner สร้างกลุ่ม “VIP”", "สร้างกลุ่ม"),
    ],
)
def test_the_log_reads_in_the_readers_language(
    engine, world, owner_client, csrf, lang, sentence, label
):
    owner = world.users["owner"]
    with engine.begin() as conn:
        for action, details in (("group_add", {"name": "VIP"}), ("router_rotate", {"name": "R1"})):
            conn.execute(
                schema.audit_log.insert().values(
                    tenant_id=world.tenant_id, user_id=owner["id"], action=action,
                    target_type="group", target_id="7", details=details, at=utcnow(),
                )
            )  # fmt: skip
    owner_client.post(
        "/locale", data={"locale": lang, "next": "/", "csrf_token": csrf(owner_client, "/")}
    )
    page = owner_client.get("/audit").get_data(as_text=True)
    assert sentence in page
    assert label in page  # the filter's option
    table = page.split("<table", 1)[1]
    assert "group_add" not in table and "router_rotate" not in table


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
    assert "Owner created the group “VIP”" in page
    assert "group_add" not in page.split("<table", 1)[1]  # no raw key in the table
    assert '{"' not in page and "&#34;rows&#34;" not in page  # no JSON
