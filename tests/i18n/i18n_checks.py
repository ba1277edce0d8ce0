"""What the translation tests read: every Babel catalog, its sources, its templates.

One table of catalogs; each is extracted from its sources the way pybabel does
(its babel.cfg, the keywords below) so a string added in code but not in the
catalog shows up here before a guest or a manager sees it in English.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("vi", "th")
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "P_": ((1, "c"), 2), "lazy_gettext": None, "_l": None}
Key = tuple[str | None, str | tuple[str, ...]]  # (msgctxt, msgid)


@dataclass(frozen=True)
class Catalog:
    name: str
    translations: Path  # <lang>/LC_MESSAGES/<domain>.po and .mo
    config: Path  # babel.cfg
    sources: tuple[Path, ...]
    templates: tuple[Path, ...]

    def po_files(self, lang: str) -> list[Path]:
        return sorted((self.translations / lang / "LC_MESSAGES").glob("*.po"))


CATALOGS = (
    Catalog(
        "guest_page",
        ROOT / "porchlight/guest_page/translations",
        ROOT / "porchlight/guest_page/babel.cfg",
        (ROOT / "porchlight/guest_page", ROOT / "portal"),
        (ROOT / "porchlight/guest_page/templates",),
    ),
    Catalog(
        "admin",
        ROOT / "admin/translations",
        ROOT / "admin/translations/babel.cfg",
        (ROOT / "admin",),
        (ROOT / "admin/templates",),
    ),
)


def extracted(catalog: Catalog) -> dict[Key, str]:
    """(msgctxt, msgid) -> "file:line" of every marked string in the sources."""
    with catalog.config.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[Key, str] = {}
    for source in catalog.sources:
        for filename, lineno, message, _comments, context in extract_from_dir(
            str(source), method_map, options_map, keywords=KEYWORDS
        ):
            key = (context, as_key(message))
            found.setdefault(key, f"{source.name}/{filename}:{lineno}")
    return found


def as_key(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


def read_po_file(path: Path, lang: str) -> dict[Key, Message]:
    with path.open("rb") as handle:
        return {(m.context, as_key(m.id)): m for m in read_po(handle, locale=lang) if m.id}


def po_messages(catalog: Catalog, lang: str) -> dict[Key, tuple[Path, Message]]:
    """Every message of every domain of `lang` (the admin merges its domains)."""
    out: dict[Key, tuple[Path, Message]] = {}
    for path in catalog.po_files(lang):
        for key, message in read_po_file(path, lang).items():
            out[key] = (path, message)
    return out


def is_translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else [message.string]
    return not message.fuzzy and all(s and s.strip() for s in strings)


def mo_messages(path: Path) -> dict[Key, str | tuple[str, ...]]:
    with path.open("rb") as handle:
        return {(m.context, as_key(m.id)): as_key(m.string) for m in read_mo(handle) if m.id}


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


# -- templates: text a person reads must come from _() / {% trans %} ---------

_TRANS_BLOCK = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
_JINJA = re.compile(r"{#.*?#}|{%.*?%}|{{.*?}}", re.S)
_WORD = re.compile(r"[^\W\d_]{2,}")  # one letter alone is a unit or a prefix ("v3", "5 h")
_CLASS_BLOCK = re.compile(r"{%-?\s*block\s+\w+_class\s*-?%}.*?{%-?\s*endblock", re.S)
READ_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "label"}
# Names that read the same in every language: brands, formats, and each language's own name.
ALLOWED = (
    "Wi-Fi", "Porchlight", "Zalo", "Facebook", "Google", "LINE", "Excel", "xlsx", "CSV",
    "PDF", "MAC", "UTF", "Windows", "TIS", "Tiếng Việt", "ภาษาไทย", "ไทย", "English",
)  # fmt: skip


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self.skip += 1
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value and _words(value):
                self.found.append(f'{tag}[{name}="{value}"]')
        if tag == "input":
            kind = dict(attrs).get("type")
            value = dict(attrs).get("value")
            if kind in ("submit", "button", "reset") and value and _words(value):
                self.found.append(f'input[value="{value}"]')

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and _words(data):
            self.found.append(data.strip())


def _words(text: str) -> bool:
    rest = text
    for name in ALLOWED:
        rest = rest.replace(name, " ")
    return bool(_WORD.search(rest))


def bare_text(source: str) -> list[str]:
    """Text a reader sees in a template's source that is not inside _() / {% trans %}."""
    source = _TRANS_BLOCK.sub(" ", source)
    source = _CLASS_BLOCK.sub(" ", source)  # {% block body_class %}: an attribute, not text
    source = _JINJA.sub(" ", source)
    reader = _Reader()
    reader.feed(source)
    reader.close()
    return reader.found


# -- Python: a sentence a person reads must be marked for the catalog ---------

_SENTENCE = re.compile(r"^[A-Z][a-z']+(?:,? [a-z'][\w'-]*){2,}[ .!?:,]*")
GETTEXT_CALLS = {"N_", "P_", "_", "gettext", "ngettext", "lazy_gettext", "_l", "pgettext"}
NOT_FOR_GUESTS = {  # calls whose text is for operators and logs, not the page
    "debug", "info", "warning", "error", "exception", "critical", "log",
    "PorchlightError", "ConfigError", "ValueError", "TypeError", "RuntimeError",
    "SystemExit", "ArgumentParser", "add_argument", "add_parser", "say", "print",
    "_aliases",  # the importer's table of headers other programs write (read, never shown)
}  # fmt: skip


SHOWN_AS_IS = {"flash", "Markup"}


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _metric(node: ast.Call) -> bool:
    """A Prometheus metric's definition: its HELP text is for the monitoring system."""
    first = node.args[0] if node.args else None
    return isinstance(first, ast.Constant) and bool(
        re.fullmatch(r"porchlight_[a-z0-9_]+", str(first.value))
    )


def unmarked_sentences(path: Path, root: Path = ROOT) -> list[str]:
    """English sentences in `path` outside gettext calls, docstrings, logs and errors."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) in GETTEXT_CALLS | NOT_FOR_GUESTS:
            skip.update(id(inner) for inner in ast.walk(node))
        elif isinstance(node, ast.Raise | ast.Assert) or (
            isinstance(node, ast.Call) and (_call_name(node).endswith("Error") or _metric(node))
        ):
            skip.update(id(inner) for inner in ast.walk(node))
        elif isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
    found = [
        f"{path.relative_to(root)}:{node.lineno}: {node.value[:70]!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and _SENTENCE.match(node.value)
    ]
    # whatever its length, a literal flashed or marked up is shown as it is
    found += [
        f"{path.relative_to(root)}:{node.lineno}: {_call_name(node)}({ast.unparse(node.args[0])})"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _call_name(node) in SHOWN_AS_IS
        and node.args
        and isinstance(node.args[0], ast.Constant | ast.JoinedStr)
    ]
    return found


def template_sentences(source: str) -> list[str]:
    """English sentences written as string constants in a template's expressions
    ({% set x = "..." %}, {{ "..." }}) outside _() / gettext calls."""
    from jinja2 import Environment, nodes

    tree = Environment(extensions=["jinja2.ext.i18n"]).parse(source)
    skip: set[int] = set()
    for call in tree.find_all(nodes.Call):
        name = getattr(call.node, "name", None) or getattr(call.node, "attr", None)
        if name in GETTEXT_CALLS:
            skip.update(id(inner) for inner in call.find_all(nodes.Const))
    return [
        const.value
        for const in tree.find_all(nodes.Const)
        if isinstance(const.value, str) and id(const) not in skip and _SENTENCE.match(const.value)
    ]
