"""What an uploaded file is, checked before any parser sees it.

An XLSX is a zip: its members' sizes and compression ratios are read from the
central directory first, so a zip bomb is refused without inflating a byte.
Password-protected workbooks are OLE files holding an `EncryptedPackage`.
CSV encodings: a BOM, UTF-16 without BOM, UTF-8, else Windows-1258
(Vietnamese) or TIS-620 (Thai) told apart by how non-ASCII bytes sit.
"""

from __future__ import annotations

import codecs
import logging
import unicodedata
import zipfile
from pathlib import Path

from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

MAX_MEMBER_BYTES = 200 * 1024 * 1024  # one sheet's XML, unpacked (~200,000 POS rows)
MAX_TOTAL_BYTES = 260 * 1024 * 1024
MAX_RATIO = 150  # unpacked/packed for members bigger than 1 MiB
SAMPLE_BYTES = 256 * 1024
ENCODINGS = ("utf-8", "utf-16", "cp1258", "tis-620")

_BINARY_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x1f\x8b",
    b"MZ",
    b"\x7fELF",
)


class ImportFileError(PorchlightError):
    """A whole file refused; `code` is a key of `texts.TEXTS`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def detect_kind(path: Path) -> str:
    """'xlsx' or 'csv', or raise `ImportFileError` saying why the file is refused."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise ImportFileError("empty_file", "the file is empty")
    if head.startswith(b"PK\x03\x04"):
        check_xlsx_zip(path)
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        if _ole_is_encrypted(path):
            raise ImportFileError("password_protected", "the workbook is password-protected")
        raise ImportFileError("xls_old", "Excel 97-2003 .xls files are not supported")
    if head.startswith(b"PK"):
        raise ImportFileError("corrupt", "the workbook is damaged")
    if any(head.startswith(magic) for magic in _BINARY_MAGIC):
        raise ImportFileError("not_spreadsheet", "not a spreadsheet (xlsx or csv)")
    with path.open("rb") as fh:
        sample = fh.read(4096)
    if b"\x00" in sample and not _looks_utf16(sample):
        raise ImportFileError("not_spreadsheet", "not a spreadsheet (xlsx or csv)")
    return "csv"


def check_xlsx_zip(path: Path) -> None:
    """Refuse damaged, encrypted or bomb-like zips before parsing."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError("corrupt", "the workbook is damaged") from exc
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        raise ImportFileError("not_spreadsheet", "a zip file, but not an Excel workbook")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise ImportFileError("password_protected", "the workbook is encrypted")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_MEMBER_BYTES or (info.file_size > 1 << 20 and ratio > MAX_RATIO):
            raise ImportFileError("too_big", f"{info.filename} unpacks to {info.file_size} bytes")
    if total > MAX_TOTAL_BYTES:
        raise ImportFileError("too_big", f"the workbook unpacks to {total} bytes")


def _ole_is_encrypted(path: Path) -> bool:
    with path.open("rb") as fh:
        data = fh.read(4 * 1024 * 1024)
    return "EncryptedPackage".encode("utf-16-le") in data


def _looks_utf16(sample: bytes) -> bool:
    if sample[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return True
    pairs = sample[: len(sample) // 2 * 2]
    if not pairs:
        return False
    zeros_odd = pairs[1::2].count(0)
    zeros_even = pairs[0::2].count(0)
    half = len(pairs) // 2
    return max(zeros_odd, zeros_even) > half * 0.3


def detect_encoding(path: Path) -> str:
    """The CSV's encoding as a Python codec name, or raise `ImportFileError`."""
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        complete = len(fh.read(1)) == 0
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    if _looks_utf16(sample):
        odd_zeros = sample[1::2].count(0) >= sample[0::2].count(0)
        return "utf-16-le" if odd_zeros else "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    return guess_legacy(sample)


def guess_legacy(sample: bytes) -> str:
    """Windows-1258 or TIS-620 for bytes that are not UTF-8.

    Vietnamese text is mostly ASCII letters with single accented bytes among
    them; Thai text is runs of non-ASCII bytes. A codec that cannot decode the
    sample is out.
    """
    ascii_next = 0
    high_next = 0
    for a, b in zip(sample, sample[1:], strict=False):
        if a >= 0x80 and b >= 0x80:
            high_next += 1
        elif (a >= 0x80) != (b >= 0x80):
            other = b if a >= 0x80 else a
            if chr(other).isalpha():
                ascii_next += 1
    order = ("tis-620", "cp1258") if high_next > ascii_next else ("cp1258", "tis-620")
    for name in order:
        try:
            decoded = sample.decode(name)
        except UnicodeDecodeError:
            continue
        if name == "tis-620" or _plausible_vietnamese(decoded):
            return name
    raise ImportFileError("encoding_unknown", "the CSV encoding was not recognised")


def _plausible_vietnamese(text: str) -> bool:
    letters = [ch for ch in unicodedata.normalize("NFC", text) if ord(ch) >= 0x80]
    if not letters:
        return True
    good = sum(1 for ch in letters if ch.isalpha() or unicodedata.category(ch) == "Mn")
    return good / len(letters) > 0.8
