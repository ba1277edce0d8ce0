"""Import and export messages come from the admin's `io` catalog, by code, in any language."""

from __future__ import annotations

from porchlight.admin.io.imports.texts import PAGE, TEXTS, page_text, text


def test_codes_read_in_each_language_from_the_catalog():
    assert text("no_contact", "vi") == "Thiếu cả số điện thoại và email"
    assert text("no_contact", "th") == "ไม่มีทั้งหมายเลขโทรศัพท์และอีเมล"
    assert text("no_contact") == "needs a phone number or an email address"
    assert text("duplicate_in_file", "th", other=7) == "ซ้ำกับแถวที่ 7 ในไฟล์"
    assert page_text("more_errors", "vi", n=3, shown=2) == "Và 3 lỗi khác (chỉ hiện 2 lỗi đầu)."


def test_one_english_word_with_two_meanings_keeps_both_translations():
    assert PAGE["file"] == ("import form", "File") and PAGE["file_col"] == "File"
    assert (page_text("file", "vi"), page_text("file_col", "vi")) == ("Chọn tệp", "Tệp")
    assert (page_text("file", "th"), page_text("file_col", "th")) == ("เลือกไฟล์", "ไฟล์")


def test_unknown_codes_and_languages_fall_back():
    assert text("no_such_code", "vi") == "no_such_code"
    assert text("corrupt", "fr") == TEXTS["corrupt"]
    assert page_text("corrupt", "th") == text("corrupt", "th")  # a page key falls back to codes
