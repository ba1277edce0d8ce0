"""Guest pages in Vietnamese and Thai show no English source text.

Every page the portal can render (the form with every channel, field, consent,
error and notice; the success and error pages; the portal's own 404) is rendered
in vi and th, and its visible text is compared with the catalog's English msgids.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from portal_fake_agent import CONFIG
from portal_helpers import PORTAL

from porchlight.guest_page import i18n
from porchlight.guest_page.my_data import render_my_data
from porchlight.guest_page.page import render_login, render_message, render_success

ERRORS = [code for code in i18n.MESSAGES if code.startswith("err_")]
FIELD_ERRORS = {
    "name": "err_name_too_long",
    "phone": "err_phone_invalid",
    "email": "err_email_invalid",
    "voucher": "err_voucher_expired",
    "consent_wifi": "err_consent_required",
}
# Words that stay as they are in every language (brands, the venue's own texts).
KEEP = re.compile(
    "|".join(
        ["Wi-Fi", "Zalo", "Facebook", "Google", "LINE", "Café Sài Gòn", "Lan"]
        + list(i18n.LANGUAGE_NAMES.values())
    )
)


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script", "title")
        for name, value in attrs:
            if name in ("title", "alt", "placeholder", "aria-label") and value:
                self.texts.append(value)

    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script", "title") and self.skip > 0

    def handle_data(self, data):
        if not self.skip and data.strip():
            self.texts.append(data.strip())


def visible(html: str) -> list[str]:
    reader = _Visible()
    reader.feed(html)
    return reader.texts


def _config_with_everything():
    config = copy.deepcopy(CONFIG)
    config["portal"]["welcome"] = None  # the default welcome, from the catalog
    config["portal"]["fields"] = {"name": "required", "phone": "optional", "email": "optional"}
    config["portal"]["chat"] = {"line_oa": "@123abcde", "zalo_oa": "1234567890"}  # follow links
    return config


def pages(lang: str) -> dict[str, str]:
    config = _config_with_everything()
    out = {
        "form": render_login(config, lang, remembered={"name": "Lan"}),
        "form_anonymous_returning": render_login(config, lang, remembered={}),
        "form_with_errors": render_login(
            config, lang, errors=FIELD_ERRORS, values={"name": "x" * 90}
        ),
        "success": render_success(config, lang, seconds_remaining=600, already=True),
        "message": render_message(config, lang, heading=i18n.text(lang, "err_not_found")),
    }
    for code in ERRORS:
        out[f"notice_{code}"] = render_login(config, lang, notice=code)
    out["my_data_nothing"] = render_my_data(config, lang, None)
    out["my_data"] = render_my_data(config, lang, MY_DATA)
    out["my_data_erasing"] = render_my_data(
        config, lang, {**MY_DATA, "erasure_requested_at": "2026-12-06T10:00:00Z"}
    )
    return out


MY_DATA = {
    "name": "Lan",
    "phone": "09•••••678",
    "visits": 3,
    "first_login_at": "2026-11-01T08:00:00Z",
    "marketing": True,
    "consents": [
        {"purpose": "wifi", "granted": True, "text_version": "v1", "at": "2026-11-01T08:00:00Z"},
        {"purpose": "marketing", "granted": False, "text_version": "v2", "at": "2026-11-02"},
    ],
}


def english_leaks(lang: str, texts: list[str]) -> list[str]:
    """Visible texts equal to, or holding, an English msgid that `lang` translates."""
    sources = {
        re.sub(r"%\(\w+\)s", "", message).strip(" .!")
        for message in i18n.MESSAGES.values()
        if i18n.translate(lang, message) != message
    }
    sources = {s for s in sources if len(s) > 2}
    leaks = [t for t in texts for s in sources if s in t]
    if lang == "th":  # Thai has no Latin words: any left is English
        leaks += [t for t in texts if re.search(r"[A-Za-z]{2,}", KEEP.sub("", t))]
    return leaks


@pytest.mark.parametrize("lang", ["vi", "th"])
def test_rendered_guest_pages_show_no_english(lang):
    for name, html in pages(lang).items():
        assert english_leaks(lang, visible(html)) == [], name


def test_the_leak_check_sees_english():
    assert english_leaks("th", ["Connect", "ยินดีต้อนรับ"]) == ["Connect", "Connect"]
    assert english_leaks("vi", ["Kết nối", "Please enter your name."]) != []


@pytest.mark.parametrize("lang", ["vi", "th"])
def test_portal_answers_show_no_english(guest, lang):
    """Pages the running portal answers with: the form, its own 404, a refused post."""
    answers = [
        guest.get(f"{PORTAL}/?lang={lang}"),
        guest.get(f"{PORTAL}/no-such-page?lang={lang}"),
        guest.post(f"{PORTAL}/login", data={"channel": "form", "lang": lang}),
    ]
    for response in answers:
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}">' in html
        assert english_leaks(lang, visible(html)) == [], response.status


def test_thai_keeps_the_spaces_between_phrases():
    assert i18n.text("th", "welcome_back", name="Bình") == "ยินดีต้อนรับกลับมา คุณ Bình!"
    assert i18n.text("th", "err_csrf") == "หน้านี้หมดอายุแล้ว กรุณาลองอีกครั้ง"
    # a new location's default texts come from the same catalog, all three at once
    assert i18n.in_every_language("default_welcome") == {
        "vi": "Chào mừng bạn! Kết nối Wi-Fi miễn phí.",
        "th": "ยินดีต้อนรับ! เชื่อมต่อ Wi-Fi ฟรี",
        "en": "Welcome! Enjoy free Wi-Fi.",
    }
    html = render_login(_config_with_everything(), "th", notice="err_agent_down")
    assert "ระบบเข้าสู่ระบบ Wi-Fi ขัดข้องชั่วคราว กรุณาลองใหม่ในอีกสักครู่" in html


def test_the_router_reads_the_catalogs_without_babel():
    """The router extra has no babel: the compiled .mo files are read by the standard
    library's gettext and Jinja's i18n extension. Here babel cannot even be imported."""
    code = (
        "import sys\n"
        "class NoBabel:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('babel', 'flask_babel'):\n"
        "            raise ImportError(name + ' is not installed on a router')\n"
        "sys.meta_path.insert(0, NoBabel())\n"
        "import porchlight.portal.app\n"
        "from porchlight.guest_page.page import render_login\n"
        "html = render_login({'portal': {'channels': ['form']}}, 'th')\n"
        "assert 'เบอร์โทรศัพท์' in html and 'ดำเนินการต่อ' not in html, html\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_every_error_code_in_the_code_has_a_text():
    """A code the portal passes around ("err_...") is a key of the catalog's MESSAGES,
    so a guest never reads a raw code."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    codes = {
        (path.name, node.value)
        for folder in ("portal", "porchlight/guest_page")
        for path in (root / folder).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"err_[a-z_]+", node.value)
    }
    assert codes, "the scan found no codes at all"
    assert sorted(c for c in codes if c[1] not in i18n.MESSAGES) == []
