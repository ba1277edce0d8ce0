"""No template shows people text outside ``{{ _() }}`` / ``{% trans %}``.

Jinja tags and expressions are cut out of each template, then the HTML left is
read like a browser would: every text node and every read attribute (title, alt,
placeholder, aria-label, a button's value) must hold no word, only symbols,
digits, brand names and each language's own name.
"""

from __future__ import annotations

import pytest
from i18n_checks import CATALOGS, ROOT, bare_text, template_sentences, unmarked_sentences

TEMPLATES = [
    pytest.param(path, id=str(path.relative_to(ROOT)))
    for catalog in CATALOGS
    for folder in catalog.templates
    for path in sorted(folder.rglob("*.html"))
]


@pytest.mark.parametrize("path", TEMPLATES)
def test_template_has_no_bare_text(path):
    source = path.read_text(encoding="utf-8")
    assert bare_text(source) == []
    assert template_sentences(source) == []  # {% set x = "..." %}, {{ "..." }}


def test_the_check_sees_bare_text_and_read_attributes():
    source = (
        '<p>Hello {{ name }}</p><b title="Hi there">{{ _("ok") }}</b>'
        '{% trans %}Fine words{% endtrans %}<input type="submit" value="Send it">'
        "<style>a{color:red}</style>{# a note #}<td>v{{ n }} · Wi-Fi</td>"
    )
    assert bare_text(source) == ["Hello", 'b[title="Hi there"]', 'input[value="Send it"]']
    hidden = '{% set x = "Hello there world" %}{{ _("Fine words here") }}{{ "Say hi to all" }}'
    assert template_sentences(hidden) == ["Hello there world", "Say hi to all"]


PYTHON = [
    pytest.param(path, id=str(path.relative_to(ROOT)))
    for catalog in CATALOGS
    for folder in catalog.sources
    for path in sorted(folder.rglob("*.py"))
    if "migrations" not in path.parts
]


@pytest.mark.parametrize("path", PYTHON)
def test_python_marks_its_sentences(path):
    """An English sentence in the portal's or the admin's Python goes through a catalog
    (``_()``, ``N_()``, ``P_()``); logs, errors for operators and docstrings are exempt."""
    assert unmarked_sentences(path) == []


def test_the_sentence_check_sees_an_unmarked_sentence(tmp_path):
    module = tmp_path / "page.py"
    module.write_text(
        '"""Docstring: not shown."""\n'
        'log.info("Written for the log only")\n'
        'ok = N_("Please enter your name.")\n'
        'shown = "Please enter your name."\n'
        'flash("Saved.")\n',
        encoding="utf-8",
    )
    sentence, flashed = unmarked_sentences(module, root=tmp_path)
    assert sentence.startswith("page.py:4:") and flashed.startswith("page.py:5: flash(")
