"""Voucher cards speak the location's language and carry its Wi-Fi: name, steps, a QR to join.

The QR codes are read back from the printable page's SVG and the PDF's
rectangles with zxing-cpp (qr_read.py), as a phone's camera reads them.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from qr_read import pdf_first_code, svg_codes

from porchlight.admin import schema
from porchlight.admin.locations.wifi_card import qr_code, wifi_uri

SSID = 'Café "Q1"; tầng 2'
PASSWORD = "s3cret;,pass"


def _generate(client: Any, tok: Any, location_id: int, count: int = 3) -> str:
    path = f"/locations/{location_id}/vouchers"
    data = {"count": str(count), "duration": "2", "unit": "hours", "max_uses": "1"}
    data |= {"max_devices": "3", "csrf_token": tok(client, path)}
    response = client.post(path, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.location)


def _set_wifi(engine: Any, location_id: int, ssid: str | None, password: str | None, **kw: Any):
    with engine.begin() as conn:
        conn.execute(
            schema.locations.update()
            .where(schema.locations.c.id == location_id)
            .values(wifi_ssid=ssid, wifi_password=password, **kw)
        )


def test_wifi_uri_escapes_what_the_format_reserves() -> None:
    assert wifi_uri("Cafe Q1", "secret123") == "WIFI:S:Cafe Q1;T:WPA;P:secret123;;"
    assert wifi_uri("Cafe Q1", None) == "WIFI:S:Cafe Q1;T:nopass;;"
    assert wifi_uri('a;b,c:d\\e"f', 'p;a,s:s\\"') == (
        'WIFI:S:a\\;b\\,c\\:d\\\\e\\"f;T:WPA;P:p\\;a\\,s\\:s\\\\\\";;'
    )


def test_the_qr_code_carries_the_name_in_utf8_as_ssids_are() -> None:
    uri = wifi_uri("Café Q1", None)  # é fits ISO 8859-1, which segno would pick by itself
    out = io.BytesIO()
    qr_code(uri).save(out, kind="png", scale=6)
    out.seek(0)
    [result] = zxingcpp.read_barcodes(Image.open(out))
    assert result.bytes == uri.encode("utf-8")


def test_thai_location_cards_print_in_thai_for_an_english_manager(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    _set_wifi(engine, world.q3, SSID, PASSWORD, country="TH", timezone="Asia/Bangkok")
    batch = _generate(owner_client, tok, world.q3)
    html = owner_client.get(batch + "/print").get_data(as_text=True)
    assert html.count('data-testid="voucher-card"') == 3
    assert '<div class="cards" lang="th">' in html
    assert "เชื่อมต่อ Wi-Fi “Café &#34;Q1&#34;; tầng 2” (รหัสผ่าน: s3cret;,pass)" in html
    assert "พิมพ์รหัสแล้วแตะ “ใช้รหัส”" in html  # the guest page's own button, in Thai
    assert "2 ชั่วโมง · 3 อุปกรณ์" in html
    assert "Type the code" not in html and "2 hours" not in html
    assert "Download PDF" in html  # the toolbar stays in the manager's language
    assert svg_codes(html) == [wifi_uri(SSID, PASSWORD)] * 3

    pdf = owner_client.get(batch + "/cards.pdf").get_data()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "2 ชั่วโมง" in text and "Type the code" not in text
    assert 'Café "Q1"; tầng 2' in text
    assert pdf_first_code(pdf) == [wifi_uri(SSID, PASSWORD)]


def test_vietnamese_location_with_an_open_network_for_a_thai_manager(
    app: Any, tok: Any, engine: Any, world: Any, factory: Any
) -> None:
    from test_vouchers_pdf import sign_in

    _set_wifi(engine, world.q1, "Lab Café Free", None)
    thai = factory.user(world.tenant_id, "owner", locale="th")
    client = sign_in(app.test_client(), thai)
    batch = _generate(client, tok, world.q1, count=1)
    html = client.get(batch + "/print").get_data(as_text=True)
    assert '<div class="cards" lang="vi">' in html
    assert "Kết nối Wi-Fi “Lab Café Free”, hoặc quét mã QR." in html
    assert "Nhập mã và bấm “Dùng mã”." in html
    assert svg_codes(html) == ["WIFI:S:Lab Café Free;T:nopass;;"]
    pdf = client.get(batch + "/cards.pdf").get_data()
    assert pdf_first_code(pdf) == ["WIFI:S:Lab Café Free;T:nopass;;"]
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Nhập mã và bấm" in text


def test_without_a_wifi_name_the_cards_say_so_and_carry_no_qr(
    owner_client: Any, tok: Any, world: Any
) -> None:
    batch = _generate(owner_client, tok, world.q1, count=1)
    html = owner_client.get(batch + "/print").get_data(as_text=True)
    assert 'data-testid="no-ssid"' in html
    assert 'class="vc-qr"' not in html
    assert "Kết nối Wi-Fi của cửa hàng." in html
    assert pdf_first_code(owner_client.get(batch + "/cards.pdf").get_data()) == []


def _edit(client: Any, tok: Any, location_id: int, **wifi: str) -> Any:
    path = f"/locations/{location_id}/edit"
    data = {"name": "Q1", "country": "VN", "timezone": "Asia/Ho_Chi_Minh", **wifi}
    return client.post(path, data=data | {"csrf_token": tok(client, path)})


@pytest.mark.both_dbs
def test_the_location_form_keeps_the_wifi_name_and_password(
    owner_client: Any, tok: Any, engine: Any, world: Any
) -> None:
    response = _edit(owner_client, tok, world.q1, wifi_ssid=" Café Q1 ", wifi_password="12345678")
    assert response.status_code == 302
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(schema.locations.c.wifi_ssid, schema.locations.c.wifi_password).where(
                schema.locations.c.id == world.q1
            )
        ).one()
    assert tuple(row) == ("Café Q1", "12345678")
    page = owner_client.get(f"/locations/{world.q1}").get_data(as_text=True)
    assert "Café Q1 · with a password" in page
    form = owner_client.get(f"/locations/{world.q1}/edit").get_data(as_text=True)
    assert 'name="wifi_password" value="12345678"' in form


@pytest.mark.parametrize(
    ("wifi", "field", "words"),
    [
        ({"wifi_ssid": "Q1", "wifi_password": "short"}, "wifi_password", "8 to 63"),
        ({"wifi_ssid": "Q1", "wifi_password": "mật khẩu dài"}, "wifi_password", "8 to 63"),
        ({"wifi_ssid": "ร้านกาแฟสาขาหนึ่ง", "wifi_password": ""}, "wifi_ssid", "32 bytes"),
        ({"wifi_ssid": "", "wifi_password": "12345678"}, "wifi_ssid", "required"),
        ({"wifi_ssid": "Q1\tbar"}, "wifi_ssid", "no tabs"),
    ],
)
def test_bad_wifi_values_are_refused_and_nothing_is_saved(
    owner_client: Any, tok: Any, engine: Any, world: Any, wifi: dict, field: str, words: str
) -> None:
    response = _edit(owner_client, tok, world.q1, **wifi)
    assert response.status_code == 422
    assert words in response.get_data(as_text=True).split(f'id="err-{field}"')[1][:200]
    with engine.connect() as conn:
        saved = conn.execute(
            sa.select(schema.locations.c.wifi_ssid).where(schema.locations.c.id == world.q1)
        ).scalar()
    assert saved is None
