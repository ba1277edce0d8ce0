"""The installer's pieces without root: DHCP ranges, the dnsmasq config (checked
by dnsmasq itself), env files, and the undo journal."""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess

import pytest
from porchlight_deploy.host import DeployError, Host
from porchlight_deploy.journal import Journal
from porchlight_deploy.router_config import (
    Lan,
    agent_env,
    default_range,
    dnsmasq_conf,
    env_value,
    portal_env,
)
from porchlight_deploy.tls import tls_options


def lan(cidr="10.0.0.1/24") -> Lan:
    address = ipaddress.IPv4Interface(cidr)
    first, last = default_range(address)
    return Lan("br-lan", address, first, last)


def test_default_range_skips_the_router_and_fits_the_subnet():
    first, last = default_range(ipaddress.IPv4Interface("192.168.50.254/24"))
    assert (str(first), str(last)) == ("192.168.50.64", "192.168.50.253")
    first, last = default_range(ipaddress.IPv4Interface("10.0.0.1/16"))
    assert first > ipaddress.IPv4Address("10.0.0.1")
    assert last == ipaddress.IPv4Address("10.0.255.254")
    with pytest.raises(DeployError, match="too small"):
        default_range(ipaddress.IPv4Interface("10.0.0.1/30"))


@pytest.mark.skipif(shutil.which("dnsmasq") is None, reason="needs dnsmasq")
def test_dnsmasq_accepts_the_config(tmp_path):
    conf_dir = tmp_path / "dnsmasq.d"
    conf_dir.mkdir()
    (conf_dir / "walled-garden.conf").write_text(
        "nftset=/example.com/4#inet#porchlight#walled4,6#inet#porchlight#walled6\n"
    )
    text = dnsmasq_conf(lan()).replace("/var/lib/porchlight/agent/dnsmasq.d", str(conf_dir))
    text = text.replace("/var/lib/porchlight/dnsmasq", str(tmp_path))
    conf = tmp_path / "dnsmasq.conf"
    conf.write_text(text)
    proc = subprocess.run(
        ["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr
    assert 'dhcp-option=br-lan,114,"http://10.0.0.1:8080/api/captive"' in text
    conf.write_text(text + "dhcp-range=nonsense\n")  # and it would say so
    bad = subprocess.run(
        ["dnsmasq", "--test", f"--conf-file={conf}"], capture_output=True, text=True, timeout=30
    )
    assert bad.returncode != 0


def test_tls_name_changes_option_114_and_adds_a_host_record_only_when_given():
    plain = dnsmasq_conf(lan())
    assert "host-record" not in plain and '114,"http://10.0.0.1:8080/api/captive"' in plain
    tls = dnsmasq_conf(lan(), tls_name="portal.cafe.example")
    assert "host-record=portal.cafe.example,10.0.0.1\n" in tls
    assert 'dhcp-option=br-lan,114,"https://portal.cafe.example:8443/api/captive"' in tls
    assert (
        tls.replace("host-record=portal.cafe.example,10.0.0.1\n", "").replace(
            "https://portal.cafe.example:8443", "http://10.0.0.1:8080"
        )
        == plain
    )
    env = portal_env(lan(), "k" * 20, tls_name="portal.cafe.example")
    assert env_value(env, "PORCHLIGHT_PORTAL_TLS_BIND") == "10.0.0.1:8443"
    assert env_value(env, "PORCHLIGHT_PORTAL_TLS_URL") == "https://portal.cafe.example:8443"
    assert "TLS" not in portal_env(lan(), "k" * 20)


def test_tls_flags_go_together_and_the_name_is_checked(tmp_path):
    assert tls_options(None, None, None) is None
    with pytest.raises(DeployError, match="go together"):
        tls_options("portal.cafe.example", tmp_path / "c", None)
    for bad in ("portal", "-x.example", "a b.example", "10.0.0.1"):
        with pytest.raises(DeployError, match="not a DNS name"):
            tls_options(bad, tmp_path / "c", tmp_path / "k")
    assert tls_options("Portal.Cafe.Example.", tmp_path / "c", tmp_path / "k").name == (
        "portal.cafe.example"
    )


def test_env_files_carry_what_the_units_expand():
    agent = agent_env(lan(), wan="eth0")
    assert env_value(agent, "PORCHLIGHT_LAN") == "br-lan"
    assert env_value(agent, "PORCHLIGHT_AGENT_EXTRA") == "--wan eth0"
    assert env_value(agent_env(lan()), "PORCHLIGHT_AGENT_EXTRA") is None
    portal = portal_env(lan(), "s3cret-s3cret-s3cret")
    assert env_value(portal, "PORCHLIGHT_PORTAL_BIND") == "10.0.0.1:8080"
    assert env_value(portal, "PORCHLIGHT_PORTAL_SECRET_KEY") == "s3cret-s3cret-s3cret"


def test_journal_undoes_files_dirs_and_links_in_reverse(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/keep.conf").write_text("the host's own\n")
    (root / "var/lib").mkdir(parents=True)
    host = Host(root)
    journal = Journal(host)
    journal.mkdir("/var/lib/porchlight")
    journal.mkdir("/opt/porchlight/venvs")
    journal.write("/etc/keep.conf", b"changed\n")
    journal.write("/etc/new.conf", b"new\n", 0o600)
    journal.symlink("/opt/porchlight/current", "venvs/x")
    on_disk = json.loads((root / "var/lib/porchlight/install-journal.json").read_text())
    assert [r["kind"] for r in on_disk["records"]] == ["dir", "dir", "file", "file", "symlink"]
    assert on_disk["records"][1]["path"] == str(root / "opt")  # the topmost dir it made

    # a new run takes over the unfinished journal and can undo it all
    again = Journal(host)
    assert again.load_unfinished()
    assert again.rollback() == []
    assert (root / "etc/keep.conf").read_text() == "the host's own\n"
    assert not (root / "etc/new.conf").exists()
    assert not (root / "opt").exists() and not (root / "var/lib/porchlight").exists()
    assert (root / "var/lib").is_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")
def test_journal_gives_a_key_its_group_and_undo_restores_the_old_mode_and_group(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/group").write_text("root:x:0:\nporchlight:x:987:\n")
    key = tmp_path / "etc/portal.key"
    key.write_bytes(b"old key\n")
    os.chmod(key, 0o600)
    host = Host(tmp_path)
    journal = Journal(host)
    journal.write("/etc/portal.key", b"new key\n", 0o640, group="porchlight")
    assert (key.read_bytes(), key.stat().st_mode & 0o777, key.stat().st_gid) == (
        b"new key\n",
        0o640,
        987,
    )
    again = Journal(host)
    again.write("/etc/portal.key", b"new key\n", 0o640, group="porchlight")
    assert again.changes == []  # same content, mode and group: untouched
    assert journal.rollback() == []
    assert (key.read_bytes(), key.stat().st_mode & 0o777, key.stat().st_gid) == (
        b"old key\n",
        0o600,
        0,
    )
    assert [p.name for p in (tmp_path / "etc").iterdir() if p.name.startswith(".")] == []


def test_journal_dry_run_changes_nothing(tmp_path):
    host = Host(tmp_path)
    journal = Journal(host, dry_run=True)
    journal.mkdir("/etc/porchlight")
    journal.write("/etc/porchlight/agent.env", b"x")
    assert journal.changes == [
        "create directory /etc/porchlight",
        "write /etc/porchlight/agent.env",
    ]
    assert list(tmp_path.iterdir()) == []


def test_unchanged_file_is_not_rewritten(tmp_path):
    host = Host(tmp_path)
    (tmp_path / "etc").mkdir()
    Journal(host).write("/etc/a.conf", b"same\n")
    journal = Journal(host)
    journal.write("/etc/a.conf", b"same\n")
    assert journal.changes == []


def test_agent_extra_flags_reach_the_agents_parser():
    """What agent.env puts in $PORCHLIGHT_AGENT_EXTRA is what `agent run` understands."""
    from porchlight.cli import build_parser

    extra = env_value(agent_env(lan(), wan="eth0", tls_port=8443), "PORCHLIGHT_AGENT_EXTRA")
    assert extra == "--wan eth0 --portal-tls-port 8443"
    argv = ["agent", "run", "--lan", "br-lan", "--state-dir", "/tmp/x", *extra.split()]
    args = build_parser().parse_args(argv)
    assert (args.wan, args.portal_tls_port, args.portal_port) == ("eth0", 8443, 8080)
