"""Adapters without root: the argv they build, how they read answers, typed errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from agentkit import FakeKernel

from porchlight.agent import nft_ruleset
from porchlight.agent.conntrack import Conntrack, ConntrackError
from porchlight.agent.dhcp import parse
from porchlight.agent.nft import Nft, NftError, parse_table
from porchlight.agent.runner import CommandError, run

LISTING = {
    "nftables": [
        {"metainfo": {"version": "1.0.6"}},
        {"table": {"family": "inet", "name": "porchlight"}},
        {
            "set": {
                "name": "allowed",
                "elem": [
                    {
                        "elem": {
                            "val": "AA:BB:CC:DD:EE:FF",
                            "timeout": 3600,
                            "expires": 3599,
                            "counter": {"packets": 7, "bytes": 900},
                        }
                    }
                ],
            }
        },
        {"set": {"name": "cidr4", "elem": [{"prefix": {"addr": "10.0.0.0", "len": 8}}, "1.2.3.4"]}},
        {"set": {"name": "trusted"}},
        {"chain": {"name": "forward"}},
        {"rule": {"chain": "forward"}},
        {"rule": {"chain": "forward"}},
        {"chain": {"name": "guest_in"}},
    ]
}


def test_parse_table_reads_elements_timeouts_counters_and_rules():
    state = parse_table(LISTING)
    elem = state.sets["allowed"]["aa:bb:cc:dd:ee:ff"]
    assert (elem.timeout, elem.packets, elem.bytes) == (3599, 7, 900)
    assert state.elements("cidr4") == {"10.0.0.0/8": None, "1.2.3.4": None}
    assert state.sets["trusted"] == {}
    assert state.rule_counts == {"forward": 2, "guest_in": 0}


def test_nft_argv_check_then_apply_with_script_on_stdin():
    kernel = FakeKernel()
    Nft(kernel).apply("table inet porchlight {\n}\n")
    assert [argv for argv, _ in kernel.calls] == [["nft", "-c", "-f", "-"], ["nft", "-f", "-"]]
    assert all(stdin == "table inet porchlight {\n}\n" for _, stdin in kernel.calls)


def test_nft_check_failure_never_applies():
    kernel = FakeKernel()
    kernel.fail("-c -f -", "Error: syntax error")
    with pytest.raises(NftError):
        Nft(kernel).apply("garbage")
    assert ["nft", "-f", "-"] not in [argv for argv, _ in kernel.calls]


def test_missing_table_lists_as_none_and_other_errors_raise():
    kernel = FakeKernel()
    assert Nft(kernel).list_table() is None
    assert kernel.calls[0][0] == ["nft", "-j", "list", "table", "inet", "porchlight"]
    kernel.exists = True
    kernel.fail("list table", "Error: Operation not permitted")
    with pytest.raises(NftError):
        Nft(kernel).list_table()


def test_conntrack_argv_and_nothing_to_delete_is_fine():
    kernel = FakeKernel()
    Conntrack(kernel).flush("10.0.0.5")
    Conntrack(kernel).flush("2001:db8::5")
    assert kernel.argvs("conntrack") == [
        ["conntrack", "-D", "-f", "ipv4", "-s", "10.0.0.5"],
        ["conntrack", "-D", "-f", "ipv4", "-d", "10.0.0.5"],
        ["conntrack", "-D", "-f", "ipv6", "-s", "2001:db8::5"],
        ["conntrack", "-D", "-f", "ipv6", "-d", "2001:db8::5"],
    ]
    kernel.fail("conntrack", "conntrack: Operation not permitted", code=2)
    with pytest.raises(ConntrackError):
        Conntrack(kernel).flush("10.0.0.5")
    with pytest.raises(ValueError):
        Conntrack(kernel).flush("10.0.0.5; reboot")


def test_runner_raises_typed_errors():
    assert run([sys.executable, "-c", "print('hi')"], 5) == "hi\n"
    with pytest.raises(CommandError) as err:
        run([sys.executable, "-c", "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"], 5)
    assert (err.value.returncode, err.value.message.endswith("boom")) == (3, True)
    with pytest.raises(CommandError, match="not installed"):
        run(["/nonexistent/nft"], 5)
    with pytest.raises(CommandError, match="timed out"):
        run([sys.executable, "-c", "import time; time.sleep(5)"], 0.3)


def test_ruleset_is_one_rule_per_purpose_not_per_client():
    ruleset = nft_ruleset.build(nft_ruleset.GateSpec(lan="br-lan", portal_port=8081))
    macs = {f"aa:bb:cc:00:{i // 256:02x}:{i % 256:02x}": 3600 for i in range(3000)}
    small = nft_ruleset.render(ruleset, {"allowed": dict(list(macs.items())[:1])})
    big = nft_ruleset.render(ruleset, {"allowed": macs})
    assert small.count("\n        ") == big.count("\n        ")  # same rules
    assert big.count("add element inet porchlight allowed") == 3  # chunked elements
    assert "tcp dport 80 redirect to :8081" in big
    assert "tcp dport 443 reject with tcp reset" in big
    for name in ("allowed", "trusted", "blocked", "walled4", "walled6"):
        assert f"set {name} {{" in big
    assert big.startswith("table inet porchlight {}\ndelete table inet porchlight\n")


def test_https_portal_port_is_open_to_guests_before_login_only_when_set():
    plain = nft_ruleset.render(nft_ruleset.build(nft_ruleset.GateSpec(lan="br-lan")))
    tls = nft_ruleset.render(
        nft_ruleset.build(nft_ruleset.GateSpec(lan="br-lan", portal_tls_port=8443))
    )
    assert "tcp dport { 8080 } accept" in plain and "8443" not in plain
    assert "tcp dport { 8080, 8443 } accept" in tls
    with pytest.raises(ValueError):
        nft_ruleset.GateSpec(lan="br-lan", portal_tls_port=70000)


@pytest.mark.parametrize("lan", ["", "br lan", 'x";drop', "a" * 16])
def test_gate_spec_refuses_bad_interface_names(lan):
    with pytest.raises(ValueError):
        nft_ruleset.GateSpec(lan=lan)


def test_dhcp_request_gives_hostname_and_vendor_class():
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    frame = bytes(
        Ether(src="3a:00:00:00:00:07", dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex("3a0000000007"), xid=1)
        / DHCP(
            options=[
                ("message-type", "request"),
                ("requested_addr", "10.20.0.44"),
                ("hostname", b"Lan-iPhone\x00"),
                ("vendor_class_id", b"android-dhcp-14"),
                "end",
            ]
        )
    )
    assert parse(frame) == ("3a:00:00:00:00:07", "10.20.0.44", "Lan-iPhone", "android-dhcp-14")
    assert parse(b"\x00" * 20) is None
    # a renewal names its address in ciaddr, without option 50; padding before the end
    renew = bytes(
        Ether(src="3a:00:00:00:00:08") / IP(src="10.20.0.45", dst="10.20.0.1")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex("3a0000000008"), ciaddr="10.20.0.45")
        / DHCP(options=[("message-type", "request"), "pad", ("hostname", b"tab"), "end"])
    )  # fmt: skip
    assert parse(renew) == ("3a:00:00:00:00:08", "10.20.0.45", "tab", None)
    assert parse(frame[:-40]) == ("3a:00:00:00:00:07", None, None, None)  # options cut short
    no_cookie = bytes(Ether() / IP() / UDP(sport=68, dport=67) / BOOTP(chaddr=b"\x01" * 6))
    assert parse(no_cookie[: 14 + 20 + 8 + 236] + b"\0\0\0\0") is None  # BOOTP, not DHCP
    assert parse(bytes(Ether() / IP() / UDP(sport=5353, dport=53) / (b"\0" * 300))) is None


def test_the_dhcp_watcher_loads_no_scapy():
    """scapy's DHCP layers alone were ~45 MB of the agent's memory."""
    code = (
        "import sys; from porchlight.agent import daemon, dhcp; "
        "dhcp.parse(bytes(400)); print('scapy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_listing_json_shape_roundtrips_through_fake():
    kernel = FakeKernel()
    Nft(kernel).apply(
        nft_ruleset.render(
            nft_ruleset.build(nft_ruleset.GateSpec(lan="br-lan")),
            {"allowed": {"aa:bb:cc:dd:ee:01": 60}},
        )
    )
    state = Nft(kernel).list_table()
    assert state is not None and state.elements("allowed") == {"aa:bb:cc:dd:ee:01": 60}
    json.dumps(kernel.listing())
