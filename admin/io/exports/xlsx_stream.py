"""A small streaming XLSX writer: one sheet, rows written straight into the zip.

Why not xlsxwriter: it spends ~5 µs a cell (20,000 customers in ~2 s before
any database work); this writes inline strings, numbers and dates as XML text
and deflates at level 1 — about ten times faster, in constant memory.
Text cells are always strings (``t="inlineStr"``), so a phone keeps its
leading zero and nothing in a text cell is ever evaluated as a formula.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

# Characters XML 1.0 forbids; a cell holding one would make Excel refuse the file.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EXCEL_EPOCH = datetime(1899, 12, 30)

STYLE_TEXT, STYLE_DATETIME, STYLE_DATE, STYLE_MONEY, STYLE_HEADER, STYLE_INT = 0, 1, 2, 3, 4, 5
# Money cells in the tenant's currency: đồng have no decimals, baht two
# ("#,##0.##" showed 2,500,000 as "2,500,000.").
MONEY_FORMATS = {"VN": '#,##0 "₫"', "TH": '"฿"#,##0.00'}

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""

_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""

_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>"""

_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""

_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="3"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/>\
<numFmt numFmtId="165" formatCode="dd/mm/yyyy"/><numFmt numFmtId="166" formatCode="{money}"/>\
</numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="3"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFE2E8F0"/></patternFill></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="6">\
<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="49" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>\
<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def xml_text(value: str) -> str:
    return escape(_ILLEGAL.sub("", value))


class XlsxStreamWriter:
    """Write rows of (str | int | Decimal | date | datetime | None) to one sheet."""

    def __init__(
        self, path: Path, widths: Sequence[int], sheet_name: str = "Customers", country: str = "VN"
    ) -> None:
        self.path = path
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._zip.writestr("[Content_Types].xml", _CONTENT_TYPES)
        self._zip.writestr("_rels/.rels", _RELS)
        self._zip.writestr("xl/workbook.xml", _WORKBOOK.format(name=xml_text(sheet_name)[:31]))
        self._zip.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        money = MONEY_FORMATS.get(country, MONEY_FORMATS["VN"])
        money_xml = escape(money, {'"': "&quot;"})
        self._zip.writestr("xl/styles.xml", _STYLES.replace("{money}", money_xml))
        self._sheet: IO[bytes] = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self._letters = [column_letter(i) for i in range(len(widths))]
        self._row = 0
        cols = "".join(
            f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
            for i, w in enumerate(widths)
        )
        self._sheet.write(
            (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                f"<cols>{cols}</cols><sheetData>"
            ).encode()
        )

    def write_header(self, labels: Sequence[str]) -> None:
        self._write([(label, STYLE_HEADER) for label in labels])

    def write_row(self, values: Sequence[object], styles: Sequence[int]) -> None:
        self._write(list(zip(values, styles, strict=True)))

    def _write(self, cells: list[tuple[object, int]]) -> None:
        self._row += 1
        r = self._row
        parts = [f'<row r="{r}">']
        for letter, (value, style) in zip(self._letters, cells, strict=False):
            ref = f"{letter}{r}"
            if value is None or value == "":
                continue
            if isinstance(value, str):
                parts.append(
                    f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">'
                    f"{xml_text(value)}</t></is></c>"
                )
            elif isinstance(value, datetime):
                serial = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
                days = (serial - EXCEL_EPOCH).total_seconds() / 86400
                parts.append(f'<c r="{ref}" s="{style}"><v>{days:.6f}</v></c>')
            elif isinstance(value, date):
                days = (value - EXCEL_EPOCH.date()).days
                parts.append(f'<c r="{ref}" s="{style}"><v>{days}</v></c>')
            elif isinstance(value, bool):
                parts.append(f'<c r="{ref}" s="{style}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float | Decimal):
                parts.append(f'<c r="{ref}" s="{style}"><v>{value}</v></c>')
            else:
                parts.append(
                    f'<c r="{ref}" s="{style}" t="inlineStr"><is><t>{xml_text(str(value))}'
                    "</t></is></c>"
                )
        parts.append("</row>")
        self._sheet.write("".join(parts).encode())

    def close(self) -> None:
        self._sheet.write(b"</sheetData></worksheet>")
        self._sheet.close()
        self._zip.close()
