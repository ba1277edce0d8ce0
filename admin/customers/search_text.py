"""What the customer search compares: text folded the way people type it.

`fold("Nguyễn Ngọc Bình")` is ``"nguyen ngoc binh"``: Vietnamese tone and
vowel marks dropped (combining marks U+0300-U+036F after NFD), ``đ`` read as
``d``, lower case; Thai is kept as typed (its marks are not in that range).
A customer's search document is its folded name, e-mail, POS code and phone
(national form, so the last digits are where people expect them), joined by
`` | ``. SQLite keeps the documents in ``customers_search_fts`` (FTS5
trigram, filled by triggers through the ``pl_search_doc`` function that
`register_sqlite` adds to every connection); PostgreSQL stores the same
document in ``customers.search_doc``, a generated column of the SQL function
``pl_search_doc`` (migration 0014: normalize NFD, the same marks dropped,
NFC, đ, lower, spaces: the steps of `fold`), with a pg_trgm GIN index.
`pg_translate_table` built migration 0009's former function (kept for its
history and 0014's downgrade).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

_MARKS = re.compile("[\u0300-\u036f]")
_SPACES = re.compile(r"\s+")
SEP = " | "


def fold(text: str | None) -> str:
    if not text:
        return ""
    if text.isascii():
        return _SPACES.sub(" ", text.lower()).strip()
    text = _MARKS.sub("", unicodedata.normalize("NFD", text))
    text = unicodedata.normalize("NFC", text).replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", text.lower()).strip()


def national(phone: str | None) -> str:
    """+84912345678 -> 0912345678 (VN and TH); other numbers without their '+'."""
    return re.sub(r"^\+(84|66)", "0", phone or "").replace("+", "")


def search_doc(name: str | None, email: str | None, code: str | None, phone: str | None) -> str:
    return SEP.join((fold(name), (email or "").lower(), (code or "").lower(), national(phone)))


def register_sqlite(dbapi_connection: Any) -> None:
    dbapi_connection.create_function("pl_search_doc", 4, search_doc, deterministic=True)


def pg_translate_table() -> tuple[str, str]:
    """(from, to) for PostgreSQL's translate(): every precomposed Latin letter `fold`
    turns into another letter, and the combining marks (deleted: no counterpart)."""
    source, target = [], []
    for code in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        ch = chr(code)
        folded = fold(ch)
        if len(folded) == 1 and folded != ch.lower() and folded.isascii():
            source.append(ch)
            target.append(folded)
    marks = "".join(chr(c) for c in range(0x0300, 0x0370))
    return "".join(source) + marks, "".join(target)
