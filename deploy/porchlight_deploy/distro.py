"""Which system this is (/etc/os-release) and whether the installer supports it.

Supported: Debian 12 and 13, Ubuntu LTS from 22.04 (22.04, 24.04, 26.04),
Raspberry Pi OS (ID=raspbian on 32-bit; 64-bit says ID=debian and is told
apart by /etc/rpi-issue). Another Debian derivative (ID_LIKE has debian, or a
Debian or Ubuntu release not listed) gets a warning and the install goes on;
anything else is refused before a change. Porchlight needs Python 3.11 or
newer (pyproject.toml: requires-python = ">=3.11").
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .host import DeployError, Host

MIN_PYTHON = (3, 11)
SUPPORTED_TEXT = (
    "Debian 12/13, Ubuntu 22.04/24.04 LTS or newer LTS, Raspberry Pi OS bookworm or newer"
)
TOO_OLD = {  # releases whose Python is older than 3.11
    ("debian", 11): "Debian 11 ships Python 3.9",
    ("debian", 10): "Debian 10 ships Python 3.7",
    ("raspbian", 11): "Raspberry Pi OS bullseye ships Python 3.9",
    ("raspbian", 10): "Raspberry Pi OS buster ships Python 3.7",
}


@dataclass(frozen=True)
class Distro:
    id: str
    version_id: str
    name: str  # what to call it in messages
    like: tuple[str, ...] = ()
    warning: str | None = None  # set when it is only "Debian-like"


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines with shell quoting (os-release(5)); comments and junk skipped."""
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            words = shlex.split(raw)
        except ValueError:
            continue
        fields[key.strip()] = words[0] if words else ""
    return fields


def read_os_release(host: Host) -> dict[str, str] | None:
    for name in ("/etc/os-release", "/usr/lib/os-release"):
        path = host.path(name)
        if path.is_file():
            return parse_os_release(path.read_text(errors="replace"))
    return None


def _major(version_id: str) -> int | None:
    head = version_id.split(".")[0]
    return int(head) if head.isdigit() else None


def classify(fields: dict[str, str], raspberry_pi: bool = False) -> Distro:
    """The Distro these os-release fields describe; DeployError if not supported."""
    ident = fields.get("ID", "").lower()
    like = tuple(fields.get("ID_LIKE", "").lower().split())
    version = fields.get("VERSION_ID", "")
    pretty = fields.get("PRETTY_NAME") or f"{fields.get('NAME', ident or 'unknown')} {version}"
    major = _major(version)
    if ident == "raspbian" or (ident == "debian" and raspberry_pi):
        ident, name = "raspbian", f"Raspberry Pi OS ({pretty})"
    else:
        name = pretty.strip()
    if ident in ("debian", "raspbian"):
        reason = TOO_OLD.get((ident, major or 0))
        if reason or (major is not None and major < 12):
            raise _too_old(name, reason or f"{name} is older than Debian 12")
        if major in (12, 13):
            return Distro(ident, version, name, like)
        return Distro(ident, version, name, like, warning=f"{name} is newer than tested")
    if ident == "ubuntu":
        if major is not None and major < 22:
            raise _too_old(name, f"{name} ships Python 3.8 or older")
        if version in ("22.04", "24.04") or (
            "LTS" in fields.get("VERSION", "") and major is not None and major % 2 == 0
        ):
            return Distro(ident, version, name, like)
        return Distro(ident, version, name, like, warning=f"{name} is not an LTS release")
    if "debian" in like or "ubuntu" in like:
        return Distro(
            ident, version, name, like, warning=f"{name} is a Debian derivative we do not test"
        )
    raise DeployError(
        f"this installer supports Debian-family systems ({SUPPORTED_TEXT}); "
        f"this is {name or 'an unknown system'}",
        hint="install Debian 12 (or Raspberry Pi OS on a Pi) on the router",
    )


def _too_old(name: str, reason: str) -> DeployError:
    return DeployError(
        f"{name} is too old: {reason}, and Porchlight needs Python 3.11 or newer",
        hint=f"upgrade to a supported release ({SUPPORTED_TEXT})",
    )


def detect(host: Host) -> Distro:
    """The target's system; with --root and no os-release, assumed Debian-like."""
    fields = read_os_release(host)
    if fields is None:
        if host.is_live:
            raise DeployError(
                "cannot tell which system this is: /etc/os-release is missing",
                hint=f"this installer supports {SUPPORTED_TEXT}",
            )
        return Distro("", "", "the target root", warning="the target root has no /etc/os-release")
    return classify(fields, raspberry_pi=host.path("/etc/rpi-issue").is_file())


def check_python(distro: Distro, version: tuple[int, int]) -> None:
    """DeployError unless `version` (the Python that will run Porchlight) is new enough."""
    if version >= MIN_PYTHON:
        return
    have = ".".join(map(str, version))
    if distro.id == "ubuntu" and distro.version_id == "22.04":
        raise DeployError(
            f"Ubuntu 22.04 ships Python {have} and Porchlight needs Python 3.11 or newer",
            hint="upgrade to Ubuntu 24.04 LTS (recommended), or install python3.11 and "
            "python3.11-venv from the deadsnakes PPA (not tested by us) and run the "
            "installer again: it uses the newest python3.X it finds",
        )
    raise DeployError(
        f"{distro.name or 'this system'} runs Python {have}; Porchlight needs 3.11 or newer",
        hint=f"upgrade to a supported release ({SUPPORTED_TEXT})",
    )
