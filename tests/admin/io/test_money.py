"""Money in the tenant's currency: đồng without decimals, baht with two; in pages and XLSX."""

from __future__ import annotations

import openpyxl
import sqlalchemy as sa

from porchlight.admin import schema
from porchlight.admin.io.exports.job import export_customers


def set_country(engine, tenant_id: int, country: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            schema.tenants.update().where(schema.tenants.c.id == tenant_id).values(country=country)
        )


def money_cell(engine, world, tmp_path):
    path = export_customers(
        engine,
        tenant_id=world.tenant_id,
        fmt="xlsx",
        out_dir=tmp_path / "out",
        base_name="customers",
        scope="all",
    )["path"]
    sheet = openpyxl.load_workbook(path).active
    header = [c.value for c in sheet[1]]
    column = next(i for i, h in enumerate(header) if h in ("Spend", "Tổng chi tiêu", "ยอดใช้จ่าย"))
    return sheet.cell(row=2, column=column + 1)


def test_dong_in_the_list_and_the_spreadsheet(engine, world, factory, owner_client, tmp_path):
    cid = factory.customer(world.tenant_id, "Lan", phone="+84912345678")
    with engine.begin() as conn:
        conn.execute(
            schema.customers.update()
            .where(schema.customers.c.id == cid)
            .values(spend_total=sa.literal(2500000))
        )
    page = owner_client.get("/customers?sort=name").get_data(as_text=True)
    assert "2,500,000 ₫" in page and "2,500,000.00" not in page
    cell = money_cell(engine, world, tmp_path)
    assert cell.value == 2500000
    assert cell.number_format == '#,##0 "₫"'  # not "#,##0.##" ("2,500,000.")


def test_baht_with_two_decimals(engine, world, factory, owner_client, tmp_path):
    set_country(engine, world.tenant_id, "TH")
    cid = factory.customer(world.tenant_id, "Somchai", phone="+66812345678")
    with engine.begin() as conn:
        conn.execute(
            schema.customers.update()
            .where(schema.customers.c.id == cid)
            .values(spend_total=sa.literal(1250.5))
        )
    page = owner_client.get("/customers?sort=name").get_data(as_text=True)
    assert "฿1,250.50" in page
    assert money_cell(engine, world, tmp_path).number_format == '"฿"#,##0.00'
