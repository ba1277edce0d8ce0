"""Voucher cards as a PDF: the same cards as the print page, 10 to an A4 page."""

from __future__ import annotations

import io
import math
from typing import Any

import sqlalchemy as sa
from pypdf import PdfReader

from porchlight.admin import schema, sessions


def new_session_id(app: Any, user_id: int) -> str:
    """A server-side session (admin/sessions.py) for the cookie's ``_user_id``."""
    with app.extensions["porchlight.engine"].begin() as conn:
        return sessions.start(conn, user_id)


def sign_in(client: Any, user: dict[str, Any]) -> Any:
    session_id = new_session_id(client.application, user["id"])
    with client.session_transaction() as session:
        session["_user_id"] = session_id
    return client


def _generate(client: Any, tok: Any, location_id: int, count: int, **fields: str) -> str:
    path = f"/locations/{location_id}/vouchers"
    data = {
        "count": str(count),
        "duration": "2",
        "unit": "hours",
        "max_uses": "1",
        "max_devices": "1",
        **fields,
    }
    data["csrf_token"] = tok(client, path)
    response = client.post(path, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.location)


def _codes(engine: Any) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(schema.vouchers.c.code)).scalars())


def _fonts(reader: PdfReader) -> set[str]:
    names: set[str] = set()
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.values():
            names.add(str(ref.get_object()["/BaseFont"]))
    return names


def test_owner_downloads_the_cards_as_a_pdf(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    batch = _generate(owner_client, tok, world.q1, 23, max_devices="3")
    page = owner_client.get(batch).get_data(as_text=True)
    assert f"{batch}/cards.pdf" in page
    assert f"{batch}/cards.pdf" in owner_client.get(batch + "/print").get_data(as_text=True)

    response = owner_client.get(batch + "/cards.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(body))
    assert len(reader.pages) == math.ceil(23 / 10) == 3
    text = "\n".join(p.extract_text() for p in reader.pages)
    made = _codes(engine)
    assert len(made) == 23
    missing = [c for c in made if c not in text]
    assert not missing, f"codes missing from the PDF: {missing}"
    # the cards speak the location's language (Q1 is in Vietnam), not the owner's English
    assert "2 giờ" in text and "3 thiết bị" in text and "Q1" in text
    assert text.index(made[0]) < text.index(made[-1])  # in code order, like the page
    with engine.connect() as conn:
        audited = conn.execute(
            sa.select(schema.audit_log.c.details).where(
                schema.audit_log.c.action == "voucher_batch_pdf"
            )
        ).scalar_one()
    assert audited == {"cards": 23}


def test_a_manager_of_another_location_gets_404(
    app: Any, owner_client: Any, tok: Any, world: Any, factory: Any
) -> None:
    batch = _generate(owner_client, tok, world.q1, 3)
    other = factory.user(world.tenant_id, "manager", locations=[world.q3])
    client = sign_in(app.test_client(), other)
    assert client.get(batch + "/cards.pdf").status_code == 404
    # and a batch id under the wrong location is not found either
    batch_id = batch.rsplit("/", 1)[1]
    own = client.get(f"/locations/{world.q3}/vouchers/{batch_id}/cards.pdf")
    assert own.status_code == 404


def test_the_thai_font_follows_the_locations_language_not_the_users(
    app: Any, owner_client: Any, tok: Any, world: Any, factory: Any, engine: Any
) -> None:
    batch = _generate(owner_client, tok, world.q1, 2)
    thai = factory.user(world.tenant_id, "owner", locale="th")
    client = sign_in(app.test_client(), thai)
    vietnamese = PdfReader(io.BytesIO(client.get(batch + "/cards.pdf").get_data()))
    assert not any("NotoSansThai" in f for f in _fonts(vietnamese))  # a Thai user, a VN venue

    with engine.begin() as conn:
        conn.execute(
            schema.locations.update()
            .where(schema.locations.c.id == world.q3)
            .values(country="TH", timezone="Asia/Bangkok")
        )
    batch = _generate(owner_client, tok, world.q3, 2)
    response = owner_client.get(batch + "/cards.pdf")  # an English owner, a Thai venue
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.get_data()))
    assert len(reader.pages) == 1
    assert any("NotoSansThai" in f for f in _fonts(reader)), _fonts(reader)
