"""The import's fast paths give what the plain ones give.

`row_reader.RowReader` reads a common row with a few calls for all of its
cells and any other row cell by cell; `bulk.executemany` hands SQLite tuples
made by the same bind processors SQLAlchemy uses. Both are checked against
the plain way on the same input.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from porchlight.admin.db import UTCDateTime, make_engine
from porchlight.admin.io.imports import row_reader
from porchlight.admin.io.imports.bulk import executemany
from porchlight.admin.io.imports.layouts import FIELDS, Layout

CELLS: list[object] = [
    None, "", "  ", " x ", "0912345678", "+84 912.345.678", 912345678, 912345678.0, 912345678.5,
    True, "01234567890", "0166 123 4567", '="0912345678"', "abc@x.vn", "ABC@X.VN", "bad@",
    "a" * 300, "Nguyễn Văn A", "Nguye\u0302\u0303n", "x\x00y", "01/02/1990", "32/13/1990",
    "1990-02-01", "15.11.2566", 33000, date(1990, 1, 1), datetime(2020, 1, 2, 3, 4), "1.250.000",
    "1,250,000.50", "1250000đ", -5, "VIP|Thân thiết", "vip, a; b|c", "Nam", "nữ", "ชาย",
    "Hồ Chí Minh - Quận 1", " - ", "0812345678", "+66 81 234 5678", "\u00a0", "\t\n", 1e20,
    float("nan"), "9" * 41, "ก" * 10, "Kho\u0301a", "\u200b", "e", "\u0301", "\u0301x", "\u1100",
    "\u1161", "\u2126", "x" * 20, "x" * 21, "0" * 40, "ab\u0301", "\x0b0912345678\x0c", "Trần",
]  # fmt: skip


def test_common_rows_read_as_cell_by_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(17)
    cases = []
    for _ in range(150):
        fields = rnd.sample(FIELDS, rnd.randint(2, len(FIELDS)))
        layout = Layout("mapped", 1, {i * 2 + rnd.randint(0, 1): f for i, f in enumerate(fields)})
        for _ in range(60):
            width = max(layout.columns) + 1 + rnd.randint(-2, 2)
            cases.append((layout, [rnd.choice(CELLS) for _ in range(max(width, 0))]))
    common = row_reader.RowReader._common_texts
    taken = []

    def counted(self: row_reader.RowReader, cells: list[object]) -> tuple[str, ...] | None:
        texts = common(self, cells)
        taken.append(texts is not None)
        return texts

    monkeypatch.setattr(row_reader.RowReader, "_common_texts", counted)
    fast = [row_reader.RowReader(lay, "VN")(7, cells) for lay, cells in cases]
    assert sum(taken) > 300  # the common path was taken often enough to mean something
    monkeypatch.setattr(row_reader.RowReader, "_common_texts", lambda self, cells: None)
    slow = [row_reader.RowReader(lay, "VN")(7, cells) for lay, cells in cases]
    assert [repr(r) for r in fast] == [repr(r) for r in slow]


def _tables() -> tuple[sa.MetaData, sa.Table, sa.Table]:
    meta = sa.MetaData()

    def table(name: str) -> sa.Table:
        return sa.Table(
            name,
            meta,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50), nullable=False, server_default=""),
            sa.Column("born", sa.Date),
            sa.Column("at", UTCDateTime()),
            sa.Column("spend", sa.Numeric(16, 2)),
            sa.Column("fixed", sa.Boolean),
        )

    return meta, table("plain"), table("fast")


ROWS = [
    (1, "Lan", date(1990, 2, 1), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), Decimal("12.50"), True),
    (2, "", None, None, None, False),
    (3, "Bình", date(2001, 12, 31), datetime(2026, 5, 6, tzinfo=UTC), Decimal("0"), None),
]


def test_executemany_stores_what_sqlalchemy_stores(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    meta, plain, fast = _tables()
    meta.create_all(engine)
    keys = ("id", "name", "born", "at", "spend", "fixed")
    with engine.begin() as conn:
        conn.execute(plain.insert(), [dict(zip(keys, r, strict=True)) for r in ROWS])
        executemany(conn, fast.insert(), keys, ROWS)
        for table in (plain, fast):  # an update with a literal ('') and a bind used twice
            c = table.c
            stmt = (
                table.update()
                .where(c.id == sa.bindparam("b_id"))
                .values(
                    name=sa.case((c.name == "", sa.bindparam("b_name")), else_=c.name),
                    spend=sa.func.coalesce(sa.bindparam("b_spend", type_=sa.Numeric(16, 2)), 0),
                    fixed=sa.case(
                        (sa.bindparam("b_spend", type_=sa.Numeric(16, 2)).is_(None), False),
                        else_=True,
                    ),
                )
            )
            rows = [(2, "Mai", Decimal("3.10")), (1, "Other", None)]
            if table is plain:
                conn.execute(stmt, [dict(zip(("b_id", "b_name", "b_spend"), r)) for r in rows])
            else:
                executemany(conn, stmt, ("b_id", "b_name", "b_spend"), rows)
        dump = "SELECT {0}, typeof(born), typeof(at), typeof(spend) FROM {1} ORDER BY id"
        columns = "id, name, born, at, spend, fixed"
        got = conn.exec_driver_sql(dump.format(columns, "fast")).fetchall()
        assert got == conn.exec_driver_sql(dump.format(columns, "plain")).fetchall()
        assert got[1].name == "Mai"
        assert got[0].at == "2026-01-02 03:04:05.000000"


def test_executemany_leaves_python_defaults_to_sqlalchemy(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    meta = sa.MetaData()
    table = sa.Table(
        "t",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(10), default="python"),
    )
    meta.create_all(engine)
    with engine.begin() as conn:
        executemany(conn, table.insert(), ("id",), [(1,), (2,)])
        assert conn.execute(sa.select(table.c.kind)).scalars().all() == ["python", "python"]


def test_executemany_refuses_missing_values(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    meta, plain, _ = _tables()
    meta.create_all(engine)
    stmt = plain.update().where(plain.c.id == sa.bindparam("b_id")).values(name=sa.bindparam("b_n"))
    with engine.begin() as conn, pytest.raises(ValueError, match="b_n"):
        executemany(conn, stmt, ("b_id",), [(1,)])
