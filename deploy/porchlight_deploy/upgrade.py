"""deploy/upgrade-router: a new venv beside the old one, switch, health-check, or roll back.

The store, sessions and enrollment live in /var/lib/porchlight/agent and are
never touched. The previous venv stays as /opt/porchlight/previous (older ones
are pruned), so a rollback is a symlink switch and a restart.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

from .checklist import router_checklist
from .host import (
    ADMIN_UNITS,
    DISK_FULL_HINT,
    HELPER_UNITS,
    OPT,
    ROUTER_UNITS,
    TLS_UNIT,
    UNIT_DIR,
    DeployError,
    Host,
    disk_full,
    failure_text,
    free_mb,
    last_line,
)
from .install import portal_url, read_record, wait_for_agent, write_record
from .journal import Journal
from .router_config import inspect_lan
from .venv import SOURCE_TREE, Source, build_venv, current, installed_version, new_venv_name

log = logging.getLogger(__name__)


def check_new_venv(host: Host, venv_dir: str) -> None:
    """The new code starts: its version prints and the agent and portal commands load."""
    venv = host.path(f"{OPT}/{venv_dir}")
    installed_version(venv)
    for part in ("agent", "portal"):
        proc = host.run([str(venv / "bin/porchlight"), part, "--help"], timeout=60, check=False)
        if proc.returncode != 0:
            raise DeployError(f"the new porchlight {part} does not start: {last_line(proc)}")


def has_admin(venv: Path) -> bool:
    """True when the venv also carries the admin (single-box mode)."""
    proc = Host().run(
        [str(venv / "bin/python"), "-I", "-c", "import porchlight.admin.app, sqlalchemy"],
        timeout=60,
        check=False,
    )
    return proc.returncode == 0


def optional_units(host: Host) -> list[str]:
    """The units installed only in some setups (HTTPS portal, single-box admin) that are here."""
    return [u for u in (TLS_UNIT, *ADMIN_UNITS) if host.path(f"{UNIT_DIR}/{u}").exists()]


def restart_units(host: Host) -> None:
    if host.systemd_running:
        host.systemctl("daemon-reload")
        host.systemctl("restart", *ROUTER_UNITS[:3], *optional_units(host))
        wait_for_agent(host)


def run_upgrade(host: Host, source: Source, dry_run: bool, min_free_mb: int = 300) -> int:
    old = current(host)
    if old is None:
        raise DeployError("Porchlight is not installed here", hint="run deploy/install-router")
    journal = Journal(host, dry_run=dry_run)
    if journal.load_unfinished():
        raise DeployError(
            "an earlier install or upgrade did not finish",
            hint="run deploy/install-router --rollback (or complete it with deploy/install-router)",
        )
    source.check()
    if has_admin(old):
        source = replace(source, extra="all")
    old_version = installed_version(old)
    new_version = source.version
    free = free_mb(host.path(OPT))
    if free < min_free_mb:
        raise DeployError(
            f"only {free} MB free for the new venv; the upgrade needs {min_free_mb} MB",
            hint=DISK_FULL_HINT,
        )
    old_name = os.path.relpath(old, host.path(OPT))
    name = new_venv_name(new_version)
    try:
        if journal.tree(f"{OPT}/{name}", f"create venv {OPT}/{name} with porchlight {new_version}"):
            build_venv(host, host.path(f"{OPT}/{name}"), source)
            check_new_venv(host, name)
        for unit in (*ROUTER_UNITS, *HELPER_UNITS, *optional_units(host)):
            journal.write(f"{UNIT_DIR}/{unit}", (SOURCE_TREE / "systemd" / unit).read_bytes())
        journal.symlink(f"{OPT}/previous", old_name)
        journal.symlink(f"{OPT}/current", name)
        if not dry_run:
            restart_units(host)
    except (DeployError, OSError) as exc:
        if dry_run:
            raise
        full = disk_full(exc, host)  # before the rollback frees the space
        problems = journal.rollback()
        print(f"upgrade-router: {failure_text(exc, full)}", file=sys.stderr)
        try:
            restart_units(host)
        except DeployError as again:
            problems.append(f"the old version does not come back either: {again}")
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(f"upgrade-router: rolled back to porchlight {old_version}.", file=sys.stderr)
        return 1
    if dry_run:
        print(f"Dry run: upgrading {old_version} -> {new_version} would")
        for change in journal.changes:
            print(f"  - {change}")
        return 0
    journal.finish()
    keep = {name, old_name}
    for venv in host.path(f"{OPT}/venvs").iterdir():
        if f"venvs/{venv.name}" not in keep:
            shutil.rmtree(venv)
    write_record(host, version=new_version)
    print(f"Porchlight router upgraded {old_version} -> {new_version} (previous kept).")
    lan_name = read_record(host).get("lan")
    url = portal_url(inspect_lan(host, lan_name)) if lan_name and host.is_live else None
    check = router_checklist(host, url, "unchanged")
    print(check.render())
    return 1 if check.failed else 0
