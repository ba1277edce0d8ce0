"""Phone, e-mail, province and postal code edited on the customer page, checked as the import."""

from __future__ import annotations

import sqlalchemy as sa

from porchlight.admin import schema


def row(engine, cid: int):
    with engine.connect() as conn:
        return conn.execute(sa.select(schema.customers).where(schema.customers.c.id == cid)).one()


def edit(client, cid: int, token: str, **fields):
    data = {"csrf_token": token, "name": "Lan", "notes": "", "group": "auto"} | fields
    return client.post(f"/customers/{cid}/edit", data=data, follow_redirects=True)


def test_contact_fields_are_checked_like_the_import(engine, world, factory, owner_client, csrf):
    cid = factory.customer(world.tenant_id, "Lan", phone="+84912345678")
    factory.customer(world.tenant_id, "Bình", phone="+84987654321")
    token = csrf(owner_client, f"/customers/{cid}")
    page = edit(
        owner_client, cid, token,
        phone="0168 123 4567", email="Lan@Example.VN", province="Hồ Chí Minh", postal_code="700000",
    ).get_data(as_text=True)  # fmt: skip
    assert "Saved." in page
    saved = row(engine, cid)
    assert (saved.phone, saved.email, saved.province, saved.postal_code) == (
        "+84381234567",  # the old 11-digit number, renumbered as the import does
        "lan@example.vn",
        "Hồ Chí Minh",
        "700000",
    )
    refused = edit(
        owner_client, cid, token,
        phone="12", email="lan@@x", province="x" * 101, postal_code="<b>", name="Changed",
    ).get_data(as_text=True)  # fmt: skip
    for words in ("not a valid phone number", "not a valid e-mail address", "Province: at most"):
        assert words in refused
    assert row(engine, cid).name == "Lan"  # nothing saved when a field is refused
    taken = edit(owner_client, cid, token, phone="0987654321", email="lan@example.vn")
    assert "merge the two instead" in taken.get_data(as_text=True)
    assert row(engine, cid).phone == "+84381234567"
