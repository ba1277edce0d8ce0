"""Read back the QR codes the voucher cards carry, as a phone camera would (zxing-cpp).

The printable page's code is an inline SVG path (segno's: ``M x y`` then runs
of ``h n`` and relative ``m dx dy`` moves along the module rows); the PDF's is
filled rectangles. Both are drawn onto a white image, module by module, and
decoded with zxing-cpp: what is read is what the card shows, not what the
code meant to draw.
"""

from __future__ import annotations

import io
import re
from typing import Any

import zxingcpp
from PIL import Image, ImageDraw
from pypdf import PdfReader
from pypdf.generic import ContentStream

SCALE = 8  # pixels per module
_SVG = re.compile(r'<svg viewBox="0 0 (\d+) (\d+)" class="vc-qr"><path[^>]* d="([^"]+)"')
_STEP = re.compile(r"([Mmh])(-?[\d.]+)(?:\s+(-?[\d.]+))?")


def _decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def svg_codes(html: str) -> list[str]:
    """The text of every QR code in a page's inline `<svg class="vc-qr">`s."""
    found = []
    for width, _height, path in _SVG.findall(html):
        size = int(width)
        image = Image.new("L", (size * SCALE, size * SCALE), 255)
        draw = ImageDraw.Draw(image)
        x = y = 0.0
        for command, first, second in _STEP.findall(path):
            if command == "M":
                x, y = float(first), float(second)
            elif command == "m":
                x, y = x + float(first), y + float(second)
            else:
                row = int(y)  # the stroke runs along the module row's middle
                end = x + float(first)
                draw.rectangle(
                    (x * SCALE, row * SCALE, end * SCALE - 1, (row + 1) * SCALE - 1), fill=0
                )
                x = end
        found += _decode(image)
    return found


def _filled_rects(page: Any) -> list[tuple[float, float, float, float]]:
    """(left, bottom, width, height) in points of every filled `re` on a PDF page."""
    stream = ContentStream(page.get_contents(), page.pdf)
    rects: list[tuple[float, float, float, float]] = []
    pending: list[tuple[float, float, float, float]] = []
    for operands, operator in stream.operations:
        if operator == b"re":
            x, y, w, h = (float(v) for v in operands)
            pending.append((x, min(y, y + h), abs(w), abs(h)))
        elif operator in (b"f", b"F", b"f*"):
            rects += pending
            pending = []
        elif operator in (b"S", b"s", b"n", b"B", b"b"):
            pending = []
    return rects


def pdf_first_code(data: bytes) -> list[str]:
    """The text of the QR code of the first card (top left) of a cards PDF."""
    page = PdfReader(io.BytesIO(data)).pages[0]
    rects = _filled_rects(page)
    if not rects:
        return []
    rows = sorted({round(y, 2) for _x, y, _w, _h in rects})
    module = min(b - a for a, b in zip(rows, rows[1:], strict=False) if b - a > 0.1)
    top = max(y + h for _x, y, _w, h in rects)
    first = [r for r in rects if r[1] + r[3] > top - 60 * module and r[0] < page.mediabox.width / 2]
    left = min(x for x, _y, _w, _h in first)
    size = round((top - min(y for _x, y, _w, _h in first)) / module)
    border = 4
    image = Image.new("L", ((size + 2 * border) * SCALE,) * 2, 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in first:
        col = round((x - left) / module) + border
        row = round((top - (y + h)) / module) + border
        length = round(w / module)
        draw.rectangle(
            (col * SCALE, row * SCALE, (col + length) * SCALE - 1, (row + 1) * SCALE - 1), fill=0
        )
    return _decode(image)
