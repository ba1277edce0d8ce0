"""The documents read as one: protocols.md numbered in order, references to its
sections and in-page links that lead somewhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROTOCOLS = REPO / "docs" / "protocols.md"
REFERENCE = re.compile(r"protocols\.md,?\s+sections?\s+(\d+(?:\.\d+)?)")


def _headings(text: str) -> list[tuple[int, str]]:
    """(level, title) of each Markdown heading outside code fences."""
    found, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"(#{1,6}) (.+)", line)):
            found.append((len(m.group(1)), m.group(2).strip()))
    return found


def _numbers() -> list[str]:
    numbers = []
    for level, title in _headings(PROTOCOLS.read_text(encoding="utf-8")):
        if level in (2, 3):
            m = re.match(r"(\d+(?:\.\d+)?)\.? ", title)
            assert m, f"protocols.md heading without a number: {title!r}"
            numbers.append(m.group(1))
    return numbers


def test_protocols_sections_are_numbered_in_order():
    expected_part, expected_sub = 0, 0
    for number in _numbers():
        if "." not in number:
            expected_part, expected_sub = expected_part + 1, 0
            assert number == str(expected_part), f"section {number} after {expected_part - 1}"
        else:
            expected_sub += 1
            assert number == f"{expected_part}.{expected_sub}", f"subsection {number}"


def test_every_reference_to_a_protocols_section_exists():
    numbers = set(_numbers())
    files = subprocess.run(
        ["git", "ls-files", "*.py", "*.md", "*.yaml", "*.html"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    wrong = []
    for name in files:
        path = REPO / name
        if not path.is_file():  # deleted in the working tree
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        wrong += [f"{name}: section {m}" for m in REFERENCE.findall(text) if m not in numbers]
    inside = re.findall(r"\bsections? (\d+(?:\.\d+)?)", PROTOCOLS.read_text(encoding="utf-8"))
    wrong += [f"protocols.md: section {m}" for m in inside if m not in numbers]
    assert not wrong, wrong


def _anchor(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    title = re.sub(r"[`*_]", "", title.lower())
    return re.sub(r"[^\w\- ]", "", title).replace(" ", "-")


def test_in_page_links_lead_to_a_heading():
    for doc in (REPO / "README.md", PROTOCOLS):
        text = doc.read_text(encoding="utf-8")
        anchors = {_anchor(title) for _, title in _headings(text)}
        links = re.findall(r"\]\(#([^)]+)\)", text)
        missing = [link for link in links if link not in anchors]
        assert not missing, f"{doc.name}: links to no heading: {missing}"


def test_readme_tells_venues_to_keep_the_line_add_friend_screen():
    """'Never pre-ticked' (#21): the README asks venues to keep LINE's separate
    add-friend screen, naming the setting and the default the code really has."""
    from porchlight.admin.locations.chat_accounts import clean_chat
    from porchlight.chat_accounts import chat_settings

    portal_default = chat_settings({"portal": {"chat": {"line_oa": "@porchcafe"}}})
    admin_default = clean_chat({"line_oa": "@porchcafe"}, {})
    assert portal_default["line_bot_prompt"] == admin_default["line_bot_prompt"] == "aggressive"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### LINE login and the venue's chat accounts\n", 1)[1]
    section = " ".join(section.split("\n### ", 1)[0].split())
    advice = re.search(r"Keep the default [^.]*\.[^.]*\.", section)
    assert advice, "no 'Keep the default ...' advice in the LINE section"
    for words in ("How LINE offers it", "`line_bot_prompt`", "`aggressive`", "`normal`"):
        assert words in advice.group(0), words
    assert "pre-ticked" in advice.group(0)


def _flash_section() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.split("## Flash a router (disk image)\n", 1)[1].split("\n## ", 1)[0]


def test_readme_flash_section_names_real_build_image_options_and_its_pi(capsys):
    """The installer guide (#19) names only options deploy/build-image has (no
    invented --suite), and promises no Raspberry Pi 5 while the image is Debian 12,
    whose linux-image-arm64 (6.1) does not support the Pi 5's BCM2712."""
    sys.path.insert(0, str(REPO / "deploy"))
    from porchlight_deploy import image_build

    with pytest.raises(SystemExit):
        image_build.parse_args(["--help"])
    options = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", capsys.readouterr().out))
    section = _flash_section()
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", section))
    adoption_key_cli = {"--tenant", "--json"}  # porchlight admin adoption-key's
    assert named - adoption_key_cli <= options, named - adoption_key_cli - options
    assert image_build.ImageOptions("arm64", Path("x")).base.name == "image-bookworm-arm64"
    flat = " ".join(section.split())
    assert "Pi 4/5" not in flat and "**Not the Raspberry Pi 5**" in flat
    assert "BCM2712" in flat and "only its layout is tested" in flat
