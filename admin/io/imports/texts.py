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


# Page texts of the import and download pages (vi, th, en).
PAGE: dict[str, tuple[str, str, str]] = {
    "import_title": ("Nhập danh sách khách hàng", "นำเข้ารายชื่อลูกค้า", "Import customers"),
    "formats": (
        "Hỗ trợ: Excel (.xlsx) và CSV (UTF-8, UTF-16, Windows-1258, TIS-620); mẫu của "
        "Porchlight, KiotViet, CukCuk, iPOS. Tệp khác: bạn chọn cột ở bước sau. Tối đa 50 MB.",
        "รองรับ: Excel (.xlsx) และ CSV (UTF-8, UTF-16, Windows-1258, TIS-620) แบบฟอร์มของ "
        "Porchlight, KiotViet, CukCuk, iPOS ไฟล์อื่น: เลือกคอลัมน์ในขั้นถัดไป สูงสุด 50 MB",
        "Supported: Excel (.xlsx) and CSV (UTF-8, UTF-16, Windows-1258, TIS-620); the "
        "Porchlight template, KiotViet, CukCuk, iPOS. Other files: pick the columns next. "
        "Up to 50 MB.",
    ),
    "template": ("Tải file mẫu", "ดาวน์โหลดไฟล์ตัวอย่าง", "Download the sample template"),
    "location": ("Địa điểm", "สาขา", "Location"),
    "group": ("Phân nhóm", "กลุ่ม", "Group"),
    "group_from_file": (
        "Theo tệp (không đổi nhóm)",
        "ตามไฟล์ (ไม่เปลี่ยนกลุ่ม)",
        "From the file (no change)",
    ),
    "file": ("Chọn tệp", "เลือกไฟล์", "File"),
    "encoding": ("Bảng mã (CSV)", "การเข้ารหัส (CSV)", "Encoding (CSV)"),
    "auto": ("Tự nhận", "อัตโนมัติ", "Detect"),
    "upload": ("Tải lên và kiểm tra", "อัปโหลดและตรวจสอบ", "Upload and check"),
    "dry_run_note": (
        "Chưa có gì được ghi. Kiểm tra kết quả rồi xác nhận.",
        "ยังไม่มีการบันทึก ตรวจสอบผลแล้วยืนยัน",
        "Nothing has been written yet. Check the result, then confirm.",
    ),
    "checking": ("Đang kiểm tra tệp…", "กำลังตรวจสอบไฟล์…", "Checking the file…"),
    "writing": ("Đang nhập…", "กำลังนำเข้า…", "Importing…"),
    "queued": ("Đang chờ xử lý…", "กำลังรอคิว…", "Waiting for the worker…"),
    "rows": ("Dòng", "แถว", "Rows"),
    "add": ("Thêm mới", "เพิ่มใหม่", "To add"),
    "merge": ("Gộp với khách có sẵn", "รวมกับลูกค้าเดิม", "To merge"),
    "skip": ("Bỏ qua", "ข้าม", "To skip"),
    "added": ("Đã thêm", "เพิ่มแล้ว", "Added"),
    "merged": ("Đã gộp", "รวมแล้ว", "Merged"),
    "skipped": ("Đã bỏ qua", "ข้ามแล้ว", "Skipped"),
    "layout": ("Định dạng", "รูปแบบ", "Layout"),
    "row": ("Dòng", "แถว", "Row"),
    "column": ("Cột", "คอลัมน์", "Column"),
    "problem": ("Lỗi", "ปัญหา", "Problem"),
    "value": ("Giá trị", "ค่า", "Value"),
    "more_errors": (
        "Và {n} lỗi khác (chỉ hiện {shown} lỗi đầu).",
        "และอีก {n} ข้อผิดพลาด (แสดง {shown} รายการแรก)",
        "And {n} more errors (the first {shown} are shown).",
    ),
    "confirm": ("Xác nhận nhập", "ยืนยันการนำเข้า", "Confirm the import"),
    "start_over": ("Chọn tệp khác", "เลือกไฟล์อื่น", "Choose another file"),
    "done": ("Đã nhập xong.", "นำเข้าเรียบร้อย", "Import finished."),
    "failed": ("Không nhập được.", "นำเข้าไม่สำเร็จ", "The import failed."),
    "nothing_written": ("Không có gì được ghi.", "ไม่มีการบันทึกใดๆ", "Nothing was written."),
    "mapping_title": ("Chọn cột", "เลือกคอลัมน์", "Which column is which?"),
    "mapping_note": (
        "Không nhận ra định dạng tệp. Hãy chọn nội dung của từng cột (cần ít nhất số điện "
        "thoại hoặc email).",
        "ไม่รู้จักรูปแบบไฟล์ กรุณาเลือกว่าแต่ละคอลัมน์คืออะไร (ต้องมีเบอร์โทรหรืออีเมล)",
        "The layout was not recognised. Tell what each column holds (a phone or an email "
        "column is needed).",
    ),
    "ignore": ("Bỏ qua cột này", "ไม่ใช้คอลัมน์นี้", "Ignore"),
    "check_again": ("Kiểm tra lại", "ตรวจสอบอีกครั้ง", "Check again"),
    "sample": ("Ví dụ", "ตัวอย่าง", "Example"),
    "downloads": ("Tải file", "ดาวน์โหลด", "Downloads"),
    "time": ("Thời gian", "เวลา", "Time"),
    "status": ("Trạng thái", "สถานะ", "Status"),
    "expires": ("Hết hạn", "หมดอายุ", "Expires"),
    "download": ("Tải về", "ดาวน์โหลด", "Download"),
    "all_downloads": ("Tất cả file", "ไฟล์ทั้งหมด", "All downloads"),
    "file_col": ("Tệp", "ไฟล์", "File"),
    "expired": ("Đã hết hạn", "หมดอายุแล้ว", "Expired"),
    "no_exports": (
        "Chưa có file xuất nào. Xuất từ trang Khách hàng.",
        "ยังไม่มีไฟล์ส่งออก ส่งออกได้จากหน้าลูกค้า",
        "No exports yet. Export from the Customers page.",
    ),
    "imports": ("Nhập gần đây", "การนำเข้าล่าสุด", "Recent imports"),
    "exports": ("File xuất", "ไฟล์ส่งออก", "Exports"),
    "st_queued": ("Đang chờ", "รอคิว", "Queued"),
    "st_running": ("Đang chạy", "กำลังทำงาน", "Running"),
    "st_done": ("Xong", "เสร็จ", "Ready"),
    "st_failed": ("Lỗi", "ล้มเหลว", "Failed"),
    "export_queued": (
        "Đang xuất file. Bạn sẽ thấy thông báo khi file sẵn sàng trong mục Tải file.",
        "กำลังส่งออก จะแจ้งเมื่อไฟล์พร้อมในหน้าดาวน์โหลด",
        "Exporting. You will see a notice when the file is ready under Downloads.",
    ),
    "export_ready": (
        "File xuất của bạn đã sẵn sàng ({n} khách hàng).",
        "ไฟล์ส่งออกของคุณพร้อมแล้ว ({n} ราย)",
        "Your export is ready ({n} customers).",
    ),
    "nothing_selected": (
        "Chưa chọn khách hàng nào.",
        "ยังไม่ได้เลือกลูกค้า",
        "No customers are selected.",
    ),
    "bad_export": ("Yêu cầu xuất không hợp lệ.", "คำขอส่งออกไม่ถูกต้อง", "Bad export request."),
    "no_file": ("Hãy chọn một tệp.", "กรุณาเลือกไฟล์", "Choose a file."),
    "customers": ("khách hàng", "ราย", "customers"),
    "files": ("tệp", "ไฟล์", "files"),
    "kind_import": ("Nhập", "นำเข้า", "Import"),
    "kind_export": ("Xuất", "ส่งออก", "Export"),
    "mode_dry_run": ("Kiểm tra", "ตรวจสอบ", "Check"),
    "mode_apply": ("Nhập", "นำเข้า", "Import"),
    "import_link": ("Nhập từ tệp", "นำเข้าจากไฟล์", "Import a file"),
}


def page_text(key: str, lang: str, **params: object) -> str:
    entry = PAGE.get(key)
    if entry is None:
        return text(key, lang, **params)
    message = entry[LANGS.index(lang) if lang in LANGS else 2]
    return message.format(**params) if params else message
