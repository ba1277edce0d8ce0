"""The lab's record, config rendering and parsing helpers (no root needed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from labkit import porchlight

from porchlight.lab import dnsmasq_conf, guest_dhcp, parts
from porchlight.lab.commands import LabError
from porchlight.lab.state import LabState, LabStateError, ProcessRecord, load, process_start_ticks


def test_state_round_trips_and_is_private(tmp_path):
    state = LabState(state_dir=str(tmp_path), prefix="pl-abc123", created_state_dir=True)
    state.add_namespace("pl-abc123-router")
    state.processes.append(ProcessRecord(name="x", argv=["true"], log="/dev/null", pid=1))
    state.info["guests"] = [{"netns": "pl-abc123-guest1", "mac": "02:00:00:00:00:01"}]
    state.begin("wan link")
    again = load(str(tmp_path))
    assert again == state
    assert (tmp_path / "lab.json").stat().st_mode & 0o777 == 0o600


def test_no_record_means_no_lab(tmp_path):
    assert load(str(tmp_path)) is None


def test_a_broken_record_is_a_clear_error(tmp_path):
    (tmp_path / "lab.json").write_text("{not json")
    with pytest.raises(LabStateError, match="not a lab record"):
        load(str(tmp_path))


def test_process_alive_guards_against_pid_reuse():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record = ProcessRecord(name="sleep", argv=[], log="/dev/null", pid=child.pid)
        record.start_ticks = process_start_ticks(child.pid)
        assert record.alive()
        record.start_ticks = (record.start_ticks or 0) + 1  # same PID, another process
        assert not record.alive()
    finally:
        child.kill()
        child.wait()
    record.start_ticks = None
    assert not record.alive()


def test_router_dnsmasq_has_option_114_upstream_and_conf_dir(tmp_path):
    url = dnsmasq_conf.captive_api_url()
    assert url == "http://10.77.0.1:8080/api/captive"
    lines = dnsmasq_conf.render(
        lease_file=tmp_path / "l", pid_file=tmp_path / "p", conf_dir=tmp_path / "d", api_url=url
    ).splitlines()
    assert f'dhcp-option=114,"{url}"' in lines
    assert "server=198.51.100.10" in lines and "no-resolv" in lines
    assert "interface=br-lan" in lines and "bind-interfaces" in lines
    assert f"conf-dir={tmp_path / 'd'},*.conf" in lines
    assert f"dhcp-leasefile={tmp_path / 'l'}" in lines


def test_internet_dns_maps_detection_hosts_to_the_internet_host(tmp_path):
    lines = dnsmasq_conf.render_internet_dns(pid_file=tmp_path / "p").splitlines()
    for host in ("captive.apple.com", "connectivitycheck.gstatic.com", "www.msftconnecttest.com",
                 "www.msftncsi.com", "detectportal.firefox.com", "clients3.google.com",
                 "internet.test"):  # fmt: skip
        assert f"address=/{host}/198.51.100.10" in lines
    assert "listen-address=198.51.100.10" in lines


def test_option_114_is_decoded_from_udhcpc_hex():
    url = "http://10.77.0.1:8080/api/captive"
    assert guest_dhcp.option_114({"opt114": url.encode().hex()}) == url
    assert guest_dhcp.option_114({}) is None


def test_dhcp_hook_writes_the_guests_resolv_conf_never_the_hosts(tmp_path):
    hook = guest_dhcp.write_hook(tmp_path, "pl-abc123-guest1").read_text()
    assert "RESOLV=/etc/netns/pl-abc123-guest1/resolv.conf" in hook
    assert "/etc/resolv.conf" not in hook


def test_json_output_is_found_after_log_lines():
    text = 'INFO migrating\n{"code": "ABC-123", "router": {"id": 1}}\n'
    data = parts.parse_json_output(text, "router-add")
    assert parts.find_value(data, ("code",)) == "ABC-123"
    assert parts.find_value({"user": {"email": "a@b"}}, ("email",)) == "a@b"
    with pytest.raises(LabError):
        parts.parse_json_output("no json here", "demo")


def test_parts_lists_registered_commands():
    commands = parts.available_commands()
    assert {"up", "status", "down"} <= commands["lab"]


def test_down_with_nothing_up_is_one_line_and_non_zero(tmp_path):
    done = porchlight("lab", "down", "--state-dir", str(tmp_path / "none"))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "no lab is up" in done.stderr and "porchlight lab up" in done.stderr
    assert "Traceback" not in done.stderr


def test_status_with_nothing_up(tmp_path):
    quiet = porchlight("lab", "status", "--quiet", "--state-dir", str(tmp_path))
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (1, "", "")
    loud = porchlight("lab", "status", "--state-dir", str(tmp_path))
    assert loud.returncode == 1 and "no lab is up" in loud.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="checks the message non-root users get")
def test_up_without_root_says_so(tmp_path):
    done = porchlight("lab", "up", "--state-dir", str(tmp_path / "s"))
    assert done.returncode == 1 and "needs root" in done.stderr
