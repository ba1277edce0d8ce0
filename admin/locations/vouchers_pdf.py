"""Voucher cards as a PDF: the printable cards page, drawn server-side with fpdf2.

A4 portrait, 10 cards per page (2 x 5) with dashed cut lines, the same words as
the HTML cards (admin/locations/wifi_card.py: venue, "Wi-Fi · Voucher code", the
code, the terms line, three steps, and the QR code that joins the Wi-Fi, drawn
as rectangles: sharp at any printer resolution). The
fonts ship in admin/fonts (Noto Sans subset for Latin and Vietnamese, Noto Sans
Thai; SIL OFL 1.1, see OFL.txt): Noto Sans draws the text, and Thai characters
fall back to Noto Sans Thai, shaped by HarfBuzz so marks sit where they belong.
Only the glyphs used are embedded, so a page of codes stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF

from porchlight.admin.locations.wifi_card import CardWords, qr_runs

FONTS = Path(__file__).parent.parent / "fonts"
PER_PAGE = 10
COLUMNS = 2
MARGIN = 10.0  # mm, as the HTML page's @page margin
GAP_X = 6.0
GAP_Y = 2.5
CARD_H = 53.0  # 5 rows and 4 gaps fill the 277 mm between the margins
PAD = 5.0
QR_SIZE = 27.0  # mm, the symbol with its 2-module quiet zone
INK = (23, 33, 43)
MUTED = (91, 103, 117)
CUT = (148, 163, 184)
DANGER = (185, 28, 28)


def _fit(pdf: FPDF, text: str, width: float, size: float, smallest: float) -> float:
    """The largest font size from `size` down to `smallest` at which `text` fits `width`."""
    while size > smallest:
        pdf.set_font_size(size)
        if pdf.get_string_width(text) <= width:
            return size
        size -= 0.5
    pdf.set_font_size(smallest)
    return smallest


def _clip(pdf: FPDF, text: str, width: float) -> str:
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _new_pdf(title: str) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_title(title)
    pdf.set_creator("Porchlight")
    pdf.add_font("noto", "", FONTS / "NotoSans-Regular.ttf")
    pdf.add_font("noto", "B", FONTS / "NotoSans-Bold.ttf")
    pdf.add_font("noto-thai", "", FONTS / "NotoSansThai-Regular.ttf")
    pdf.add_font("noto-thai", "B", FONTS / "NotoSansThai-Bold.ttf")
    pdf.set_fallback_fonts(["noto-thai"], exact_match=False)
    pdf.set_text_shaping(True)
    return pdf


def _qr(pdf: FPDF, x: float, y: float, uri: str) -> None:
    """The QR code in a QR_SIZE square at (x, y), a 2-module white border included."""
    size, runs = qr_runs(uri)
    module = QR_SIZE / (size + 4)
    pdf.set_fill_color(0, 0, 0)
    for row, col, length in runs:
        left, top = x + (col + 2) * module, y + (row + 2) * module
        # a hair wider than the module: no white seams between rows on screen
        pdf.rect(left, top, length * module + 0.02, module + 0.02, style="F")


def _card(pdf: FPDF, x: float, y: float, w: float, code: str, words: CardWords) -> None:
    pdf.set_draw_color(*CUT)
    pdf.set_line_width(0.35)
    with pdf.local_context():
        pdf.set_dash_pattern(dash=1.6, gap=1.2)
        pdf.rect(x, y, w, CARD_H, round_corners=True, corner_radius=3)
    inner = w - 2 * PAD
    left = x + PAD
    text_w = inner - (QR_SIZE + 2 if words.uri else 0)
    if words.uri:
        _qr(pdf, x + w - PAD - QR_SIZE + 1, y + 2.5, words.uri)

    pdf.set_text_color(*INK)
    pdf.set_font("noto", "B")
    size = _fit(pdf, words.venue, text_w, 12, 8)
    pdf.set_xy(left, y + 5)
    pdf.cell(text_w, size * 0.45, _clip(pdf, words.venue, text_w))

    pdf.set_text_color(*MUTED)
    pdf.set_font("noto", "", 7.5)
    pdf.set_char_spacing(0.3)
    pdf.set_xy(left, y + 10.5)
    pdf.cell(text_w, 3.5, _clip(pdf, words.label.upper(), text_w))
    pdf.set_char_spacing(0)

    pdf.set_text_color(15, 23, 42)
    pdf.set_font("noto", "B", 21)
    pdf.set_char_spacing(1.6)
    pdf.set_xy(left, y + 14.5)
    pdf.cell(text_w, 10, code)
    pdf.set_char_spacing(0)

    pdf.set_text_color(51, 65, 85)
    pdf.set_font("noto", "", 8.5)
    pdf.set_xy(left, y + 25)
    # wrap only between the " · " parts: "until" stays with its date
    terms = " · ".join(part.replace(" ", "\u00a0") for part in words.terms.split(" · "))
    pdf.multi_cell(text_w, 3.8, terms, align="L", new_x="LEFT", new_y="NEXT")
    _steps(pdf, left, max(y + 33, pdf.get_y() + 1), inner, y + CARD_H - 2, words.steps)


def _steps(
    pdf: FPDF, left: float, top: float, width: float, bottom: float, steps: Sequence[str]
) -> None:
    """The numbered steps from `top`, in the largest size (7.5 pt to 6) that ends by `bottom`."""
    pdf.set_text_color(*INK)
    size = 7.5
    while True:
        pdf.set_font("noto", "", size)
        line = size * 0.44
        lines = 0
        for step in steps:
            wrapped = pdf.multi_cell(width, line, step, dry_run=True, output="LINES")
            lines += len(wrapped) if isinstance(wrapped, list) else 1
        if top + lines * line + 0.6 * len(steps) <= bottom or size <= 6:
            break
        size -= 0.5
    pdf.set_xy(left, top)
    for step in steps:
        pdf.set_x(left)
        pdf.multi_cell(width, line, step, align="L", new_x="LEFT", new_y="NEXT")
        pdf.set_y(pdf.get_y() + 0.6)


def render_cards(
    codes: Sequence[str], words: CardWords, *, title: str, notice: str | None, empty: str
) -> bytes:
    """A4 pages of voucher cards, 10 a page, for `codes` in order.

    `title` (the document's), `notice` (e.g. "this batch is voided", above the
    cards) and `empty` (no codes left) speak the manager's language.
    """
    pdf = _new_pdf(title)
    width = (pdf.w - 2 * MARGIN - (COLUMNS - 1) * GAP_X) / COLUMNS
    pages = [codes[i : i + PER_PAGE] for i in range(0, len(codes), PER_PAGE)] or [[]]
    for page in pages:
        pdf.add_page()
        top = MARGIN
        if notice:
            pdf.set_text_color(*DANGER)
            pdf.set_font("noto", "B", 9)
            pdf.set_xy(MARGIN, 3)
            pdf.cell(pdf.w - 2 * MARGIN, 6, notice, align="C")
        if not page:
            pdf.set_text_color(*INK)
            pdf.set_font("noto", "", 12)
            pdf.set_xy(MARGIN, top)
            pdf.multi_cell(pdf.w - 2 * MARGIN, 6, empty)
        for i, code in enumerate(page):
            row, col = divmod(i, COLUMNS)
            x = MARGIN + col * (width + GAP_X)
            y = top + row * (CARD_H + GAP_Y)
            _card(pdf, x, y, width, code, words)
    return bytes(pdf.output())
