"""The Porchlight venvs under /opt/porchlight: venvs/<version>-<time>, `current`, `previous`."""

from __future__ import annotations

import os
import re
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .host import OPT, DeployError, Host, last_line

SOURCE_TREE = Path(__file__).resolve().parents[2]
WHEEL_NAME = re.compile(r"^porchlight-([^-]+)-")


@dataclass(frozen=True)
class Source:
    """Where porchlight comes from: the source tree, a wheel, or a wheelhouse (offline)."""

    wheel: Path | None = None
    wheelhouse: Path | None = None
    extra: str = "router"

    @property
    def version(self) -> str:
        if self.wheel is not None:
            match = WHEEL_NAME.match(self.wheel.name)
            if not match:
                raise DeployError(f"{self.wheel} is not a porchlight wheel")
            return match.group(1)
        if self.wheelhouse is not None:
            versions = sorted(
                m.group(1)
                for p in self.wheelhouse.glob("porchlight-*.whl")
                if (m := WHEEL_NAME.match(p.name))
            )
            if not versions:
                raise DeployError(f"no porchlight wheel in the wheelhouse {self.wheelhouse}")
            return versions[-1]
        data = tomllib.loads((SOURCE_TREE / "pyproject.toml").read_text())
        return str(data["project"]["version"])

    def check(self) -> None:
        if self.wheel is not None and not self.wheel.is_file():
            raise DeployError(f"no wheel at {self.wheel}")
        if self.wheelhouse is not None and not self.wheelhouse.is_dir():
            raise DeployError(f"no wheelhouse directory at {self.wheelhouse}")
        if (
            self.wheel is None
            and self.wheelhouse is None
            and not (SOURCE_TREE / "pyproject.toml").is_file()
        ):
            raise DeployError(f"{SOURCE_TREE} is not a Porchlight source tree")

    def pip_args(self) -> list[str]:
        args: list[str] = []
        if self.wheelhouse is not None:
            args += ["--no-index", "--find-links", str(self.wheelhouse)]
        if self.wheel is not None:
            spec = f"{self.wheel.resolve()}[{self.extra}]"
        elif self.wheelhouse is not None:
            spec = f"porchlight[{self.extra}]=={self.version}"
        else:
            spec = f"{SOURCE_TREE}[{self.extra}]"
        return [*args, spec]


def new_venv_name(version: str) -> str:
    return f"venvs/{version}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"


def build_venv(host: Host, venv: Path, source: Source) -> None:
    """Create `venv` and install porchlight into it (the caller journals the directory)."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    # pip separately: `venv` alone hides why ensurepip failed (a full disk)
    # the Python running the installer: >= 3.11, checked by deploy/install-router
    host.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=300)
    host.run([str(venv / "bin/python"), "-m", "ensurepip", "--default-pip"], timeout=300)
    proc = host.run(
        [
            str(venv / "bin/python"),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "-q",
            *source.pip_args(),
        ],
        timeout=1800,
        check=False,
    )
    if proc.returncode != 0:
        raise DeployError(
            f"could not install porchlight[{source.extra}] into {venv}: {last_line(proc)}",
            hint="no network? copy a wheelhouse made with 'pip wheel' and pass --wheelhouse DIR",
        )
    installed_version(venv)  # the console script must run


def installed_version(venv: Path) -> str:
    """The version the venv's `porchlight --version` prints; DeployError if it does not run."""
    exe = venv / "bin/porchlight"
    if not os.access(exe, os.X_OK):
        raise DeployError(f"{exe} is missing")
    host = Host()
    proc = host.run([str(exe), "--version"], timeout=60, check=False)
    if proc.returncode != 0:
        raise DeployError(f"{exe} does not run: {last_line(proc)}")
    return proc.stdout.split()[-1]


def current(host: Host) -> Path | None:
    link = host.path(f"{OPT}/current")
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def previous(host: Host) -> Path | None:
    link = host.path(f"{OPT}/previous")
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None
