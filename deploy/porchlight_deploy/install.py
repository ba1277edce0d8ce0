"""deploy/install-router: plan from what is there, apply with a journal, undo on failure.

Order: the read-only checks of preflight.py first (system, Python, interface,
disk, certificate, admin reachable), then packages, directories, venv, user,
config, units, start, health check, IPv4 forwarding, and enrollment last —
the commit point: until the admin has handed out a device token everything
is undone on failure; after it the install stands and a failing component is
a red line in the check-list.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import sys
import time
from datetime import UTC, datetime
from typing import Any

from . import forwarding
from .checklist import agent_status, router_checklist
from .host import (
    AGENT_STATE,
    ETC,
    HELPER_UNITS,
    OPT,
    PORTAL_USER,
    RECORD,
    ROUTER_UNITS,
    STATE,
    UNIT_DIR,
    DeployError,
    Host,
    disk_full,
    failure_text,
    last_line,
)
from .journal import Journal, write_atomic
from .preflight import InstallOptions, enrolled, preflight
from .router_config import (
    PORTAL_PORT,
    WALLED_GARDEN_DIR,
    Lan,
    agent_env,
    dnsmasq_conf,
    env_value,
    neighbour_sysctl,
    portal_env,
)
from .tls import TLS_PORT, install_certificate
from .venv import SOURCE_TREE, Source, build_venv, current, installed_version, new_venv_name

log = logging.getLogger(__name__)

# The same names exist in Ubuntu's archive (22.04, 24.04) and in Raspberry Pi
# OS (Debian's archive plus the Raspberry Pi one).
PACKAGES = (
    "nftables",
    "dnsmasq-base",
    "conntrack",
    "iproute2",
    "python3-venv",
    "netbase",  # /etc/protocols: nft resolves protocol names in the agent's ruleset
)


def read_record(host: Host) -> dict[str, Any]:
    path = host.path(RECORD)
    return json.loads(path.read_text()) if path.is_file() else {}


def write_record(host: Host, **updates: Any) -> None:
    record = read_record(host)
    for key, value in updates.items():
        if isinstance(value, list):
            record[key] = sorted(set(record.get(key, [])) | set(value))
        else:
            record[key] = value
    write_atomic(host.path(RECORD), (json.dumps(record, indent=1) + "\n").encode(), 0o600)


def apply(host: Host, journal: Journal, opts: InstallOptions, lan: Lan) -> str:
    """Make the host match the plan; returns what happened to the packages."""
    packages = install_software(host, journal, opts.source)
    before = len(journal.changes)
    name = opts.tls.name if opts.tls else None
    tls_port = TLS_PORT if opts.tls else None
    agent = agent_env(lan, wan=opts.wan, tls_port=tls_port, metrics_port=opts.metrics_port)
    journal.write(f"{ETC}/agent.env", agent.encode())
    portal = portal_env(lan, portal_secret(host), tls_name=name)
    journal.write(f"{ETC}/portal.env", portal.encode(), 0o600)
    journal.write(f"{ETC}/dnsmasq.conf", dnsmasq_conf(lan, tls_name=name).encode())
    if opts.tls is not None:
        install_certificate(journal, opts.tls)
    if host.systemd_running and not journal.dry_run:
        host.run(["dnsmasq", "--test", f"--conf-file={ETC}/dnsmasq.conf"], timeout=30)
    write_units(journal, opts.units)
    changed = len(journal.changes) > before
    enable_units(host, journal, opts.units)
    start_units(host, journal, opts.units, restart=changed)
    # after the agent's gate is up: forwarding before it would let guests through
    keep = forwarding.enable(host, journal, neighbour_sysctl(lan))
    if keep:
        write_record(host, **keep)
    if opts.code and not enrolled(host):
        enroll(host, journal, opts)
    if not journal.dry_run:
        names = {"portal_name": name} if name else {}
        if lan.guests is not None:  # a re-run without --guests keeps the venue's size
            names["guests"] = lan.guests
        if opts.metrics_port:  # and without --metrics-port keeps the agent's /metrics
            names["metrics_port"] = opts.metrics_port
        write_record(
            host, lan=lan.iface, admin_url=opts.admin_url, version=opts.source.version, **names
        )
    return packages


def install_software(host: Host, journal: Journal, source: Source) -> str:
    """Packages, directories, the venv and the portal's user: what needs no LAN."""
    journal.mkdir(STATE)
    packages = install_packages(host, journal)
    for target, mode in (
        (ETC, 0o755),
        (OPT, 0o755),
        (AGENT_STATE, 0o700),
        (WALLED_GARDEN_DIR, 0o755),
        (f"{STATE}/dnsmasq", 0o755),
    ):
        journal.mkdir(target, mode)
    install_venv(host, journal, source)
    if not host.has_user(PORTAL_USER) and journal.note(f"create system user {PORTAL_USER}"):
        journal.record("user", name=PORTAL_USER)
        host.add_system_user(PORTAL_USER)
    return packages


def write_units(journal: Journal, units: tuple[str, ...]) -> None:
    for unit in (*units, *HELPER_UNITS):
        data = (SOURCE_TREE / "systemd" / unit).read_bytes()
        journal.write(f"{UNIT_DIR}/{unit}", data)


def run_stage(host: Host, source: Source) -> int:
    """`install --stage-only` (deploy/build-image, inside the image's root): the
    software and the unit files, neither configured nor enabled; first boot runs
    install-router with the LAN it finds, which keeps this venv (same version)."""
    journal = Journal(host, dry_run=False)
    source.check()
    try:
        install_software(host, journal, source)
        write_units(journal, ROUTER_UNITS)
    except (DeployError, OSError) as exc:
        problems = journal.rollback()
        print(f"install-router: {exc}", file=sys.stderr)
        for problem in problems:
            print(f"  could not undo: {problem}", file=sys.stderr)
        return 1
    journal.finish()
    print(f"Porchlight {source.version} staged (configured at first boot).")
    return 0


def portal_secret(host: Host) -> str:
    """The portal's secret key: the one already written, else a new one."""
    env = host.path(f"{ETC}/portal.env")
    old = env_value(env.read_text(), "PORCHLIGHT_PORTAL_SECRET_KEY") if env.is_file() else None
    return old or secrets.token_urlsafe(32)


def install_packages(host: Host, journal: Journal) -> str:
    if not host.is_live:
        return "skipped (--root: the target's packages are not managed)"
    missing = host.missing_packages(PACKAGES)
    if not missing:
        return ", ".join(PACKAGES)
    if journal.note(f"install Debian packages {' '.join(missing)}"):
        journal.record("packages", names=missing)
        host.apt_install(missing)
        write_record(host, packages_installed=missing)
    return "installed " + ", ".join(missing)


def install_venv(host: Host, journal: Journal, source: Source) -> None:
    venv = current(host)
    wanted = source.version
    if venv is not None:
        have = installed_version(venv)
        if have != wanted:
            raise DeployError(
                f"porchlight {have} is installed here and this is {wanted}",
                hint="use deploy/upgrade-router to change versions",
            )
        return
    name = new_venv_name(wanted)
    target = f"{OPT}/{name}"
    if journal.tree(target, f"create venv {target} with porchlight[router] {wanted}"):
        build_venv(host, host.path(target), source)
    journal.symlink(f"{OPT}/current", name)
    if not journal.dry_run:  # venvs half-built by a run that was killed
        for leftover in host.path(f"{OPT}/venvs").iterdir():
            if leftover.name != name.rsplit("/", 1)[-1]:
                shutil.rmtree(leftover)


def enable_units(host: Host, journal: Journal, units: tuple[str, ...]) -> None:
    wants = host.path(f"{UNIT_DIR}/multi-user.target.wants")
    todo = [u for u in units if not (wants / u).is_symlink()]
    if host.systemd_running and not journal.dry_run:
        host.systemctl("daemon-reload")
    if todo and journal.note(f"enable {' '.join(todo)}"):
        journal.record("units-enabled", units=todo)
        host.systemctl("enable", *todo)


def start_units(host: Host, journal: Journal, units: tuple[str, ...], restart: bool) -> None:
    if not host.systemd_running:
        return
    if not restart and not journal.dry_run:
        states = [host.systemctl("is-active", u, check=False).stdout.strip() for u in units]
        if all(state == "active" for state in states):
            return
    verb = "restart" if restart else "start"
    if journal.note(f"{verb} {' '.join(units)}"):
        # a gate this run brings up: its nftables table (which outlives the agent) goes on undo
        agent = host.systemctl("is-active", "porchlight-agent.service", check=False)
        journal.record(
            "units-started", units=list(units), new_gate=agent.stdout.strip() != "active"
        )
        host.systemctl(verb, *units)
        wait_for_agent(host)


def wait_for_agent(host: Host, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    detail = "no answer"
    while time.monotonic() < deadline:
        ok, detail = agent_status(host)
        if ok:
            return
        time.sleep(1)
    raise DeployError(
        f"the agent did not answer within {seconds:.0f}s: {detail}",
        hint="see 'journalctl -u porchlight-agent'",
    )


def enroll(host: Host, journal: Journal, opts: InstallOptions) -> None:
    venv = current(host)
    assert venv is not None or journal.dry_run
    if not journal.note(f"enroll with {opts.admin_url}"):
        return
    assert venv is not None and opts.admin_url and opts.code
    journal.record("enrolled", path=str(host.path(AGENT_STATE)))
    argv = [str(venv / "bin/porchlight"), "agent", "enroll", opts.admin_url, opts.code]
    if opts.insecure:
        argv.append("--insecure")
    proc = host.run([*argv, "--state-dir", str(host.path(AGENT_STATE))], timeout=120, check=False)
    if proc.returncode != 0 or not enrolled(host):
        raise DeployError(f"enrollment failed: {last_line(proc)}", hint=enroll_hint(proc))
    write_record(host, enrolled_at=datetime.now(UTC).isoformat(timespec="seconds"))
    journal.finish()  # the commit point: from here on nothing is undone
    if host.systemd_running:  # the agent starts syncing on its next start
        host.systemctl("restart", "porchlight-agent.service", check=False)
        try:
            wait_for_agent(host)
        except DeployError as exc:
            log.warning("%s", exc)  # a red line in the check-list


def enroll_hint(proc: Any) -> str:
    text = f"{proc.stdout} {proc.stderr}".lower()
    if "used" in text or "409" in text or "410" in text or "expired" in text:
        return "the enrollment code was already used or has expired: make a new one in the admin"
    if "401" in text or "403" in text or "invalid" in text or "unknown" in text:
        return "the admin does not know this code: check it for typos"
    return "nothing was changed; fix the cause and run the installer again"


def portal_url(lan: Lan) -> str:
    return f"http://{lan.ip}:{PORTAL_PORT}/generate_204"


def run_install(host: Host, opts: InstallOptions, dry_run: bool, rollback_only: bool) -> int:
    journal = Journal(host, dry_run=dry_run)
    unfinished = journal.load_unfinished()
    if rollback_only:
        if not unfinished:
            print("Nothing to roll back: no unfinished install here.")
            return 0
        problems = journal.rollback() if not dry_run else []
        for problem in problems:
            print(f"  could not undo: {problem}", file=sys.stderr)
        print("Rolled back the unfinished install." if not problems else "Rollback incomplete.")
        return 1 if problems else 0
    if unfinished:
        print(
            f"An earlier install (started {journal.started_at}) did not finish: completing it. "
            "Run with --rollback to undo it instead."
        )
    lan = preflight(host, opts)
    try:
        packages = apply(host, journal, opts, lan)
    except (DeployError, OSError) as exc:
        if dry_run:
            raise
        full = disk_full(exc, host)  # before the rollback frees the space
        problems = journal.rollback()
        print(f"install-router: {failure_text(exc, full)}", file=sys.stderr)
        if problems:
            print("install-router: could not undo everything:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        print("install-router: every change was undone; the host is as it was.", file=sys.stderr)
        return 1
    if dry_run:
        print("Dry run: this would change")
        for change in journal.changes or ["nothing (already installed)"]:
            print(f"  - {change}")
        return 0
    journal.finish()
    print("Porchlight router:" + (" nothing to change." if not journal.changes else ""))
    check = router_checklist(host, portal_url(lan), packages)
    print(check.render())
    return 1 if check.failed else 0
