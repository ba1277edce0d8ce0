"""The guest's language: Vietnamese, Thai or English, and every text the portal shows.

The language comes from `?lang=` (the switcher), then the `pl_lang` cookie,
then the browser's Accept-Language, then the location's country. Texts are
plain dicts so the admin's settings preview renders the same words.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("vi", "th", "en")
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "th": "ภาษาไทย", "en": "English"}
COUNTRY_LANGUAGE = {"VN": "vi", "TH": "th"}

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Wi-Fi login",
        "welcome_default": "Welcome to {venue}! Connect to our free Wi-Fi.",
        "details": "Your details",
        "name": "Name",
        "phone": "Phone number",
        "email": "Email",
        "optional": "optional",
        "connect": "Connect",
        "or": "or",
        "voucher": "Voucher code",
        "use_voucher": "Use code",
        "click": "Just connect",
        "social": "Continue with {provider}",
        "welcome_back": "Welcome back, {name}!",
        "welcome_back_anon": "Welcome back!",
        "connect_again": "Connect again",
        "language": "Language",
        "success_title": "You're online",
        "success_body": "Enjoy the Wi-Fi at {venue}.",
        "already_online": "You're already connected.",
        "minutes_left": "Time left: {minutes} min.",
        "continue": "Continue",
        "back": "Back to the login page",
        "try_again": "Try again",
        "open_link": "You're online. Open {url}",
        "err_name_required": "Please enter your name.",
        "err_name_too_long": "Name is too long (at most {max} characters).",
        "err_name_invalid": "Please enter a real name.",
        "err_phone_required": "Please enter your phone number.",
        "err_phone_invalid": "This phone number does not look right.",
        "err_email_required": "Please enter your email.",
        "err_email_invalid": "This email address does not look right.",
        "err_contact_required": "Please enter a phone number or an email.",
        "err_consent_required": "Please accept to use the Wi-Fi.",
        "err_voucher_required": "Please enter your voucher code.",
        "err_voucher_invalid": "This voucher code is not valid.",
        "err_voucher_used_up": "This voucher has already been used up.",
        "err_voucher_expired": "This voucher has expired.",
        "err_voucher_device_limit": "This voucher is already in use on too many devices.",
        "err_agent_down": "Wi-Fi login is briefly unavailable. Please try again in a minute.",
        "err_mac_not_found": "We can't see your device on the Wi-Fi yet. "
        "Wait a few seconds and try again.",
        "err_blocked": "This device can't use the Wi-Fi here. Please ask the staff.",
        "err_csrf": "This page expired. Please try again.",
        "err_form_reused": "This form was already sent. Please check and send it again.",
        "err_rate_limited": "Too many attempts. Please wait a minute and try again.",
        "err_channel_unavailable": "This way of logging in is not available here.",
        "err_social_failed": "The social login did not finish. "
        "Please try again or use another way.",
        "err_internal": "Something went wrong. Please try again.",
        "err_not_found": "This page does not exist.",
    },
    "vi": {
        "title": "Đăng nhập Wi-Fi",
        "welcome_default": "Chào mừng bạn đến {venue}! Kết nối Wi-Fi miễn phí.",
        "details": "Thông tin của bạn",
        "name": "Họ và tên",
        "phone": "Số điện thoại",
        "email": "Email",
        "optional": "không bắt buộc",
        "connect": "Kết nối",
        "or": "hoặc",
        "voucher": "Mã voucher",
        "use_voucher": "Dùng mã",
        "click": "Kết nối ngay",
        "social": "Tiếp tục với {provider}",
        "welcome_back": "Chào mừng {name} quay lại!",
        "welcome_back_anon": "Chào mừng bạn quay lại!",
        "connect_again": "Kết nối lại",
        "language": "Ngôn ngữ",
        "success_title": "Bạn đã kết nối",
        "success_body": "Chúc bạn lướt Wi-Fi vui vẻ tại {venue}.",
        "already_online": "Bạn đã được kết nối rồi.",
        "minutes_left": "Thời gian còn lại: {minutes} phút.",
        "continue": "Tiếp tục",
        "back": "Quay lại trang đăng nhập",
        "try_again": "Thử lại",
        "open_link": "Bạn đã kết nối. Mở {url}",
        "err_name_required": "Vui lòng nhập họ tên.",
        "err_name_too_long": "Tên quá dài (tối đa {max} ký tự).",
        "err_name_invalid": "Vui lòng nhập tên thật.",
        "err_phone_required": "Vui lòng nhập số điện thoại.",
        "err_phone_invalid": "Số điện thoại không đúng.",
        "err_email_required": "Vui lòng nhập email.",
        "err_email_invalid": "Địa chỉ email không đúng.",
        "err_contact_required": "Vui lòng nhập số điện thoại hoặc email.",
        "err_consent_required": "Vui lòng đồng ý để sử dụng Wi-Fi.",
        "err_voucher_required": "Vui lòng nhập mã voucher.",
        "err_voucher_invalid": "Mã voucher không hợp lệ.",
        "err_voucher_used_up": "Mã voucher này đã hết lượt sử dụng.",
        "err_voucher_expired": "Mã voucher này đã hết hạn.",
        "err_voucher_device_limit": "Mã voucher này đã được dùng trên quá nhiều thiết bị.",
        "err_agent_down": "Đăng nhập Wi-Fi tạm thời gián đoạn. Vui lòng thử lại sau một phút.",
        "err_mac_not_found": "Chưa nhận ra thiết bị của bạn trên mạng Wi-Fi. "
        "Vui lòng đợi vài giây rồi thử lại.",
        "err_blocked": "Thiết bị này không được dùng Wi-Fi tại đây. Vui lòng hỏi nhân viên.",
        "err_csrf": "Trang đã hết hạn. Vui lòng thử lại.",
        "err_form_reused": "Biểu mẫu này đã được gửi. Vui lòng kiểm tra và gửi lại.",
        "err_rate_limited": "Bạn đã thử quá nhiều lần. Vui lòng đợi một phút rồi thử lại.",
        "err_channel_unavailable": "Cách đăng nhập này không có tại đây.",
        "err_social_failed": "Đăng nhập bằng mạng xã hội chưa hoàn tất. "
        "Vui lòng thử lại hoặc chọn cách khác.",
        "err_internal": "Đã có lỗi xảy ra. Vui lòng thử lại.",
        "err_not_found": "Trang này không tồn tại.",
    },
    "th": {
        "title": "เข้าสู่ระบบ Wi-Fi",
        "welcome_default": "ยินดีต้อนรับสู่ {venue}! เชื่อมต่อ Wi-Fi ฟรี",
        "details": "ข้อมูลของคุณ",
        "name": "ชื่อ",
        "phone": "เบอร์โทรศัพท์",
        "email": "อีเมล",
        "optional": "ไม่บังคับ",
        "connect": "เชื่อมต่อ",
        "or": "หรือ",
        "voucher": "รหัสบัตรกำนัล",
        "use_voucher": "ใช้รหัส",
        "click": "เชื่อมต่อทันที",
        "social": "ดำเนินการต่อด้วย {provider}",
        "welcome_back": "ยินดีต้อนรับกลับมา คุณ{name}!",
        "welcome_back_anon": "ยินดีต้อนรับกลับมา!",
        "connect_again": "เชื่อมต่ออีกครั้ง",
        "language": "ภาษา",
        "success_title": "คุณเชื่อมต่อแล้ว",
        "success_body": "ขอให้สนุกกับ Wi-Fi ที่ {venue}",
        "already_online": "คุณเชื่อมต่ออยู่แล้ว",
        "minutes_left": "เวลาที่เหลือ: {minutes} นาที",
        "continue": "ดำเนินการต่อ",
        "back": "กลับไปหน้าเข้าสู่ระบบ",
        "try_again": "ลองอีกครั้ง",
        "open_link": "คุณเชื่อมต่อแล้ว เปิด {url}",
        "err_name_required": "กรุณากรอกชื่อ",
        "err_name_too_long": "ชื่อยาวเกินไป (ไม่เกิน {max} ตัวอักษร)",
        "err_name_invalid": "กรุณากรอกชื่อจริง",
        "err_phone_required": "กรุณากรอกเบอร์โทรศัพท์",
        "err_phone_invalid": "เบอร์โทรศัพท์ไม่ถูกต้อง",
        "err_email_required": "กรุณากรอกอีเมล",
        "err_email_invalid": "อีเมลไม่ถูกต้อง",
        "err_contact_required": "กรุณากรอกเบอร์โทรศัพท์หรืออีเมล",
        "err_consent_required": "กรุณายอมรับเพื่อใช้งาน Wi-Fi",
        "err_voucher_required": "กรุณากรอกรหัสบัตรกำนัล",
        "err_voucher_invalid": "รหัสบัตรกำนัลไม่ถูกต้อง",
        "err_voucher_used_up": "รหัสบัตรกำนัลนี้ถูกใช้ครบแล้ว",
        "err_voucher_expired": "รหัสบัตรกำนัลนี้หมดอายุแล้ว",
        "err_voucher_device_limit": "รหัสบัตรกำนัลนี้ถูกใช้กับอุปกรณ์ครบจำนวนแล้ว",
        "err_agent_down": "ระบบเข้าสู่ระบบ Wi-Fi ขัดข้องชั่วคราว กรุณาลองใหม่ในอีกสักครู่",
        "err_mac_not_found": "ยังไม่พบอุปกรณ์ของคุณในเครือข่าย Wi-Fi กรุณารอสักครู่แล้วลองอีกครั้ง",
        "err_blocked": "อุปกรณ์นี้ไม่สามารถใช้ Wi-Fi ที่นี่ได้ กรุณาติดต่อพนักงาน",
        "err_csrf": "หน้านี้หมดอายุแล้ว กรุณาลองอีกครั้ง",
        "err_form_reused": "แบบฟอร์มนี้ถูกส่งไปแล้ว กรุณาตรวจสอบและส่งอีกครั้ง",
        "err_rate_limited": "ลองหลายครั้งเกินไป กรุณารอหนึ่งนาทีแล้วลองใหม่",
        "err_channel_unavailable": "วิธีเข้าสู่ระบบนี้ไม่เปิดให้ใช้ที่นี่",
        "err_social_failed": "การเข้าสู่ระบบด้วยโซเชียลไม่สำเร็จ กรุณาลองอีกครั้งหรือใช้วิธีอื่น",
        "err_internal": "เกิดข้อผิดพลาด กรุณาลองอีกครั้ง",
        "err_not_found": "ไม่พบหน้านี้",
    },
}


def text(lang: str, key: str, **values: object) -> str:
    """The text `key` in `lang` (English when missing), with `{values}` filled in."""
    table = TEXTS.get(lang, TEXTS["en"])
    template = table.get(key) or TEXTS["en"].get(key) or key
    return template.format(**values) if values else template


def localized(value: object, lang: str) -> str:
    """A config text that is either a plain string or ``{"vi": .., "th": .., "en": ..}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for candidate in (lang, "en", *LANGUAGES):
            found = value.get(candidate)
            if isinstance(found, str) and found.strip():
                return found
    return ""


def parse_accept_language(header: str | None) -> list[str]:
    """Languages we speak from an Accept-Language header, best first."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:500].split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, raw = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(raw)
                except ValueError:
                    quality = 0.0
        primary = tag.split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, index, primary))
    ranked.sort()
    seen: list[str] = []
    for _, _, lang in ranked:
        if lang not in seen:
            seen.append(lang)
    return seen


def choose_language(
    requested: str | None,
    cookie: str | None,
    accept_language: str | None,
    country: str | None,
) -> str:
    for candidate in (requested, cookie):
        if candidate in LANGUAGES:
            return str(candidate)
    ranked = parse_accept_language(accept_language)
    if ranked:
        return ranked[0]
    return COUNTRY_LANGUAGE.get((country or "").upper(), "en")
