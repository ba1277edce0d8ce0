"""Every text people read is in a Babel catalog with a real vi and th translation.

The sources are extracted the way pybabel does (each catalog's babel.cfg), so a
``_("...")`` added without running ``pybabel update`` fails here; so does a
fuzzy or empty msgstr, a lost ``%(name)s`` and a ``.po`` edited but not compiled.
"""

from __future__ import annotations

import pytest
from i18n_checks import (
    CATALOGS,
    LANGS,
    as_key,
    extracted,
    is_translated,
    mo_messages,
    placeholders,
    po_messages,
    read_po_file,
)

BY_CATALOG = [pytest.param(c, lang, id=f"{c.name}-{lang}") for c in CATALOGS for lang in LANGS]


@pytest.mark.parametrize(("catalog", "lang"), BY_CATALOG)
def test_every_marked_string_has_a_translation(catalog, lang):
    catalog_messages = po_messages(catalog, lang)
    missing = [
        f"{where}: {msgid!r}"
        for msgid, where in extracted(catalog).items()
        if msgid not in catalog_messages or not is_translated(catalog_messages[msgid][1])
    ]
    assert missing == [], f"{len(missing)} texts without a {lang} translation"


@pytest.mark.parametrize(("catalog", "lang"), BY_CATALOG)
def test_no_fuzzy_or_empty_msgstr(catalog, lang):
    assert catalog.po_files(lang), f"no {lang} catalog for {catalog.name}"
    bad = [
        f"{path.name}: {msgid!r}"
        for msgid, (path, message) in po_messages(catalog, lang).items()
        if not is_translated(message)
    ]
    assert bad == []


@pytest.mark.parametrize(("catalog", "lang"), BY_CATALOG)
def test_translations_keep_the_placeholders(catalog, lang):
    wrong = []
    for (_context, msgid), (path, message) in po_messages(catalog, lang).items():
        ids = [msgid] if isinstance(msgid, str) else list(msgid)
        wanted = set().union(*(placeholders(i) for i in ids))
        strings = [message.string] if isinstance(message.string, str) else message.string
        for string in strings:
            # a plural form may leave the count out ("one" reads as a word)
            if not placeholders(string) <= wanted or (
                isinstance(msgid, str) and placeholders(string) != wanted
            ):
                wrong.append(f"{path.name}: {msgid!r} -> {string!r}")
    assert wrong == []


@pytest.mark.parametrize(("catalog", "lang"), BY_CATALOG)
def test_compiled_mo_files_match_their_po(catalog, lang):
    """The .mo files are committed (the router runs them as they are): each is current."""
    for po in catalog.po_files(lang):
        mo = po.with_suffix(".mo")
        assert mo.is_file(), f"{mo} is missing: run pybabel compile"
        compiled = mo_messages(mo)
        stale = [
            msgid
            for msgid, message in read_po_file(po, lang).items()
            if is_translated(message) and not _same(compiled.get(msgid), as_key(message.string))
        ]
        assert stale == [], f"{mo.name} is older than {po.name}: run pybabel compile"


def _same(compiled, wanted) -> bool:
    """Babel's .mo reader pads plural forms to two; Thai and Vietnamese have one."""
    if isinstance(wanted, tuple) and isinstance(compiled, tuple):
        return compiled[: len(wanted)] == wanted
    return compiled == wanted


@pytest.mark.parametrize(("catalog", "lang"), BY_CATALOG)
def test_catalog_headers_are_not_fuzzy(catalog, lang):
    """A fuzzy header makes a plain `pybabel compile` skip the whole catalog."""
    from babel.messages.pofile import read_po

    fuzzy = []
    for po in catalog.po_files(lang):
        with po.open("rb") as handle:
            if read_po(handle, locale=lang).fuzzy:
                fuzzy.append(po.name)
    assert fuzzy == []
