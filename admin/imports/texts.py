"""Import and export messages in Vietnamese, Thai and English, keyed by code.

The worker stores codes (never sentences) in a job's result, so the page shows
each row error in the language of whoever reads it.
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str, str]] = {
    # file-level errors (vi, th, en)
    "not_spreadsheet": (
        "Tệp không phải Excel (.xlsx) hay CSV. Hãy lưu lại dưới dạng .xlsx hoặc .csv.",
        "ไฟล์นี้ไม่ใช่ Excel (.xlsx) หรือ CSV กรุณาบันทึกเป็น .xlsx หรือ .csv",
        "This file is not an Excel (.xlsx) or CSV file. Save it as .xlsx or .csv.",
    ),
    "xls_old": (
        "Tệp Excel 97-2003 (.xls) chưa được hỗ trợ. Hãy mở và lưu lại dưới dạng .xlsx.",
        "ยังไม่รองรับไฟล์ Excel 97-2003 (.xls) กรุณาเปิดแล้วบันทึกเป็น .xlsx",
        "Excel 97-2003 (.xls) files are not supported. Open it and save as .xlsx.",
    ),
    "password_protected": (
        "Tệp Excel có mật khẩu. Hãy gỡ mật khẩu rồi tải lên lại.",
        "ไฟล์ Excel มีรหัสผ่าน กรุณาเอารหัสผ่านออกแล้วอัปโหลดใหม่",
        "The Excel file is password-protected. Remove the password and upload it again.",
    ),
    "corrupt": (
        "Tệp Excel bị hỏng hoặc không đọc được.",
        "ไฟล์ Excel เสียหายหรืออ่านไม่ได้",
        "The Excel file is damaged or cannot be read.",
    ),
    "too_big": (
        "Tệp quá lớn khi giải nén (có thể là zip bomb). Hãy chia nhỏ tệp.",
        "ไฟล์ใหญ่เกินไปเมื่อแตกไฟล์ (อาจเป็น zip bomb) กรุณาแบ่งไฟล์",
        "The file is too large once unpacked (possibly a zip bomb). Split it into smaller files.",
    ),
    "encoding_unknown": (
        "Không nhận ra bảng mã của tệp CSV. Hãy chọn bảng mã hoặc lưu lại dạng UTF-8.",
        "ไม่ทราบการเข้ารหัสของไฟล์ CSV กรุณาเลือกการเข้ารหัสหรือบันทึกเป็น UTF-8",
        "The CSV file's encoding was not recognised. Pick the encoding or save it as UTF-8.",
    ),
    "empty_file": (
        "Tệp không có dữ liệu.",
        "ไฟล์ไม่มีข้อมูล",
        "The file has no data.",
    ),
    "no_header": (
        "Không tìm thấy dòng tiêu đề cột.",
        "ไม่พบแถวหัวคอลัมน์",
        "No header row was found.",
    ),
    "changed_meanwhile": (
        "Dữ liệu khách hàng thay đổi trong lúc nhập. Không có gì được ghi; hãy chạy lại.",
        "ข้อมูลลูกค้าเปลี่ยนระหว่างนำเข้า ไม่มีการบันทึกใดๆ กรุณาลองใหม่",
        "Customers changed during the import. Nothing was written; run it again.",
    ),
    "internal": (
        "Lỗi hệ thống. Không có gì được ghi.",
        "เกิดข้อผิดพลาดของระบบ ไม่มีการบันทึกใดๆ",
        "Internal error. Nothing was written.",
    ),
    "worker_lost": (
        "Tiến trình xử lý bị dừng. Không có gì được ghi; hãy chạy lại.",
        "ตัวประมวลผลหยุดทำงาน ไม่มีการบันทึกใดๆ กรุณาลองใหม่",
        "The worker stopped. Nothing was written; run it again.",
    ),
    # row-level errors
    "phone_invalid": (
        "Số điện thoại không hợp lệ",
        "หมายเลขโทรศัพท์ไม่ถูกต้อง",
        "not a valid phone number",
    ),
    "email_invalid": ("Email không hợp lệ", "อีเมลไม่ถูกต้อง", "not a valid email address"),
    "no_contact": (
        "Thiếu cả số điện thoại và email",
        "ไม่มีทั้งหมายเลขโทรศัพท์และอีเมล",
        "needs a phone number or an email address",
    ),
    "date_invalid": (
        "Ngày không hợp lệ (dùng dd/MM/yyyy)",
        "วันที่ไม่ถูกต้อง (ใช้ dd/MM/yyyy)",
        "not a valid date (use dd/MM/yyyy)",
    ),
    "number_invalid": ("Số tiền không hợp lệ", "จำนวนเงินไม่ถูกต้อง", "not a valid amount"),
    "too_long": ("Ô quá dài", "ข้อความในช่องยาวเกินไป", "cell too long"),
    "duplicate_in_file": (
        "Trùng với dòng {other} trong tệp",
        "ซ้ำกับแถวที่ {other} ในไฟล์",
        "same customer as row {other} of this file",
    ),
}

LANGS = ("vi", "th", "en")


def text(code: str, lang: str = "en", **params: object) -> str:
    """The message for `code` in `lang` (vi/th/en), with `params` filled in."""
    entry = TEXTS.get(code)
    if entry is None:
        return code
    index = LANGS.index(lang) if lang in LANGS else 2
    message = entry[index]
    return message.format(**params) if params else message
