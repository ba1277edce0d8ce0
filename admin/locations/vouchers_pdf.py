"""Voucher cards as a PDF: the printable cards page, drawn server-side with fpdf2.

A4 portrait, 10 cards per page (2 x 5) with dashed cut lines, the same texts as
the HTML cards (venue, "Wi-Fi · Voucher code", the code, the terms line). The
fonts ship in admin/fonts (Noto Sans subset for Latin and Vietnamese, Noto Sans
Thai; SIL OFL 1.1, see OFL.txt): Noto Sans draws the text, and Thai characters
fall back to Noto Sans Thai, shaped by HarfBuzz so marks sit where they belong.
Only the glyphs used are embedded, so a page of codes stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

FONTS = Path(__file__).parent.parent / "fonts"
PER_PAGE = 10
COLUMNS = 2
MARGIN = 10.0  # mm, as the HTML page's @page margin
GAP_X = 6.0
GAP_Y = 5.0
CARD_H = 50.0
INK = (23, 33, 43)
MUTED = (91, 103, 117)
CUT = (148, 163, 184)
DANGER = (185, 28, 28)


@dataclass(frozen=True)
class CardTexts:
    venue: str
    label: str  # "Wi-Fi · Voucher code", translated
    terms: str  # "2 hours · 3 devices · until 31/12/2026", translated
    title: str  # the PDF's title (document info)
    notice: str | None = None  # e.g. "this batch is voided", printed above the cards
    empty: str = ""  # shown when there are no codes


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


def _card(pdf: FPDF, x: float, y: float, w: float, code: str, texts: CardTexts) -> None:
    pdf.set_draw_color(*CUT)
    pdf.set_line_width(0.35)
    with pdf.local_context():
        pdf.set_dash_pattern(dash=1.6, gap=1.2)
        pdf.rect(x, y, w, CARD_H, round_corners=True, corner_radius=3)
    inner = w - 12
    left = x + 6

    pdf.set_text_color(*INK)
    pdf.set_font("noto", "B")
    size = _fit(pdf, texts.venue, inner, 13, 9)
    pdf.set_xy(left, y + 8.5)
    pdf.cell(inner, size * 0.45, _clip(pdf, texts.venue, inner), align="C")

    pdf.set_text_color(*MUTED)
    pdf.set_font("noto", "", 8.5)
    pdf.set_char_spacing(0.4)
    pdf.set_xy(left, y + 16)
    pdf.cell(inner, 4, _clip(pdf, texts.label.upper(), inner), align="C")
    pdf.set_char_spacing(0)

    pdf.set_text_color(15, 23, 42)
    pdf.set_font("noto", "B", 24)
    pdf.set_char_spacing(2.2)
    pdf.set_xy(left, y + 22)
    # char spacing adds after the last letter too: shift by half of it to stay centred
    pdf.cell(inner + 2.2 * 0.3528, 12, code, align="C")
    pdf.set_char_spacing(0)

    pdf.set_text_color(51, 65, 85)
    pdf.set_font("noto", "", 9.5)
    pdf.set_xy(left, y + 37)
    # wrap only between the " · " parts: "until" stays with its date
    terms = " · ".join(part.replace(" ", "\u00a0") for part in texts.terms.split(" · "))
    pdf.multi_cell(inner, 4.6, terms, align="C", max_line_height=4.6, new_x="LEFT")


def render_cards(codes: Sequence[str], texts: CardTexts) -> bytes:
    """A4 pages of voucher cards, 10 a page, for `codes` in order."""
    pdf = _new_pdf(texts.title)
    width = (pdf.w - 2 * MARGIN - (COLUMNS - 1) * GAP_X) / COLUMNS
    pages = [codes[i : i + PER_PAGE] for i in range(0, len(codes), PER_PAGE)] or [[]]
    for page in pages:
        pdf.add_page()
        top = MARGIN
        if texts.notice:
            pdf.set_text_color(*DANGER)
            pdf.set_font("noto", "B", 9)
            pdf.set_xy(MARGIN, 3)
            pdf.cell(pdf.w - 2 * MARGIN, 6, texts.notice, align="C")
        if not page:
            pdf.set_text_color(*INK)
            pdf.set_font("noto", "", 12)
            pdf.set_xy(MARGIN, top)
            pdf.multi_cell(pdf.w - 2 * MARGIN, 6, texts.empty)
        for i, code in enumerate(page):
            row, col = divmod(i, COLUMNS)
            x = MARGIN + col * (width + GAP_X)
            y = top + row * (CARD_H + GAP_Y)
            _card(pdf, x, y, width, code, texts)
    return bytes(pdf.output())
