"""Gate-integrity figures (issue 15), in the benchmark's own namespaces (root).

    sudo .venv/bin/python benchmarks/gate_integrity.py [--json] [--clients 10000] [--seconds 10]

With the real agent on a bridged LAN (benchmarks/gate_integrity_net.py):
1. hijack: a neighbour claims a logged-in guest's IP with gratuitous ARP; time until the
   agent has dropped that session's MAC+IP binding from the kernel (and until it is back
   once the owner claims its address again);
2. clone: a device with a logged-in guest's MAC but its own IP: requests that reach the internet;
3. submit -> online as the portal does it (client_for_ip, then authorize): p50/p95.
With the agent's ruleset loaded by hand, before (the previous rules) and after:
4. tunnel: DNS payload bytes a pending guest moves upstream in `--seconds` (TXT queries
   with 110- and 180-character random names, as fast as it can);
5. router port: a logged-in guest's requests to a router service on :2222 that get an answer;
6. packets forwarded per CPU-second for a logged-in guest with `--clients` sessions in
   the sets: MAC+IP binding (`bound4`) vs the MAC-only rule, same run, rounds alternated
   (a Python UDP sender; the router's forwarding runs in its softirq, so its CPU time
   holds the ruleset's cost, and the machine's other load does not count).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_integrity_net import LAN_IP, NET_IP, Net, sh, wait_for  # noqa: E402

from porchlight.agent import nft_ruleset  # noqa: E402
from porchlight.agent_client import AgentClient  # noqa: E402

LOGIN = {"channel": "form", "name": "Bench Guest", "phone": "+84912345678"}
BOUND_RULE = "meta nfproto ipv4 ether saddr @allowed ether saddr . ip saddr @bound4 accept"

TUNNEL = """
import os, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setblocking(False)
end, n = time.monotonic() + float(sys.argv[1]), 0
while time.monotonic() < end:
    size = 180 if n % 2 else 110
    label = os.urandom(size).hex()[:size]
    name = ".".join(label[i:i + 60] for i in range(0, size, 60)) + ".tunnel.test"
    q = struct.pack(">HHHHHH", n & 0xFFFF, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0\\0\\x10\\0\\1"
    try:
        s.sendto(q, (sys.argv[2], 53))
        while True: s.recv(1500)
    except OSError: pass
    n += 1; time.sleep(0.002)
print(n)
"""
BLAST = """
import resource, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setblocking(False)
end, data, n = time.monotonic() + float(sys.argv[1]), b"x" * 64, 0
while time.monotonic() < end:
    for _ in range(200):
        try: s.sendto(data, (sys.argv[2], 9)); n += 1
        except OSError: pass
usage = resource.getrusage(resource.RUSAGE_SELF)
print(n, usage.ru_utime + usage.ru_stime)
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# ---- with the agent -----------------------------------------------------------------------
def login(net: Net, index: int) -> None:
    net.fetch_from(net.guest(index), f"http://{LAN_IP}:8080/", 1)  # the neighbour entry
    client = AgentClient(net.socket)
    mac = client.call("client_for_ip", ip=net.ip(index))["client"]["mac"]
    client.call("authorize", mac=mac, ip=net.ip(index), login=LOGIN)


def claim(net: Net, index: int, address: str | None = None) -> subprocess.Popen[bytes]:
    """Guest `index` sends two gratuitous ARPs for `address` (default: its own)."""
    address = address or net.ip(index)
    argv = ["busybox", "arping", "-U", "-c", "2", "-w", "2", "-I", "eth0", "-s", address, address]
    return subprocess.Popen(
        ["ip", "netns", "exec", net.guest(index), *argv], stdout=subprocess.DEVNULL
    )


def hijack(net: Net, rounds: int) -> dict[str, Any]:
    login(net, 1)
    bound = f"{net.mac(1)} . {net.ip(1)}"
    noticed, restored = [], []
    for _ in range(rounds):
        time.sleep(1.1)  # past the neighbour entry's locktime
        sh(net.guest(2), "ip", "addr", "add", f"{net.ip(1)}/32", "dev", "eth0")
        start = time.perf_counter()
        arping = claim(net, 2, net.ip(1))
        wait_for(lambda: bound not in net.set_elements("bound4"), 5, 0.002)
        noticed.append((time.perf_counter() - start) * 1000)
        arping.wait(timeout=10)
        sh(net.guest(2), "ip", "addr", "del", f"{net.ip(1)}/32", "dev", "eth0")
        time.sleep(1.1)
        start = time.perf_counter()
        arping = claim(net, 1)
        wait_for(lambda: bound in net.set_elements("bound4"), 5, 0.002)
        restored.append((time.perf_counter() - start) * 1000)
        arping.wait(timeout=10)
    return {
        "rounds": rounds,
        "noticed_ms_median": round(statistics.median(noticed), 1),
        "noticed_ms_max": round(max(noticed), 1),
        "restored_ms_median": round(statistics.median(restored), 1),
    }


def clone(net: Net, tries: int) -> dict[str, Any]:
    sh(net.guest(3), "ip", "link", "set", "eth0", "address", net.mac(1))
    net.arp(3, net.ip(3))
    through = sum(net.fetch_from(net.guest(3), f"http://{NET_IP}/", 1) == "internet"
                  for _ in range(tries))  # fmt: skip
    owner = sum(net.fetch_from(net.guest(1), f"http://{NET_IP}/", 2) == "internet"
                for _ in range(3))  # fmt: skip
    sh(net.guest(3), "ip", "link", "set", "eth0", "address", net.mac(3))
    return {"clone_requests": tries, "clone_reached_internet": through, "owner_ok_of_3": owner}


def submit_to_online(net: Net, warm: int, timed: int) -> dict[str, Any]:
    sh(net.router, "ip", "addr", "add", "10.72.0.1/16", "dev", net.bridge)
    batch = "".join(
        f"neigh replace 10.72.{i >> 8}.{i & 255} lladdr 02:72:00:00:{i >> 8:02x}:{i & 255:02x} "
        f"dev {net.bridge} nud permanent\n"
        for i in range(2, warm + timed + 2)
    )
    sh(net.router, "ip", "-batch", "-", stdin=batch)
    client = AgentClient(net.socket)
    times = []
    for i in range(2, warm + timed + 2):
        ip = f"10.72.{i >> 8}.{i & 255}"
        start = time.perf_counter()
        mac = client.call("client_for_ip", ip=ip)["client"]["mac"]
        client.call("authorize", mac=mac, ip=ip, login=LOGIN)
        if i >= warm + 2:
            times.append((time.perf_counter() - start) * 1000)
    return {
        "online_before": warm,
        "timed": timed,
        "p50_ms": round(pct(times, 0.5), 2),
        "p95_ms": round(pct(times, 0.95), 2),
    }


# ---- the ruleset by hand, before and after --------------------------------------------------
def variant(name: str, spec: nft_ruleset.GateSpec) -> nft_ruleset.Ruleset:
    ruleset = copy.deepcopy(nft_ruleset.build(spec))
    hook, rules = ruleset.chains["guest_input"]
    if name == "before":  # the previous rules: DNS unlimited, the router open after login
        ruleset.chains["guest_dns"] = ("", ["accept"])
        ruleset.chains["guest_input"] = (hook, [*rules[:-1], "ether saddr @allowed accept", "drop"])
    if name in ("before", "mac_only"):
        hook, rules = ruleset.chains["guest_out"]
        swapped = ["ether saddr @allowed accept" if r == BOUND_RULE else r for r in rules]
        ruleset.chains["guest_out"] = (hook, swapped)
    return ruleset


def load(net: Net, ruleset: nft_ruleset.Ruleset, n: int) -> None:
    macs = [f"02:90:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}" for i in range(n)]
    allowed: dict[str, int | None] = dict.fromkeys(macs, 3600)
    bound: dict[str, int | None] = {
        f"{m} . 10.{80 + (i >> 16)}.{i >> 8 & 255}.{i & 255}": 3600 for i, m in enumerate(macs)
    }
    allowed[net.mac(1)] = 3600
    bound[f"{net.mac(1)} . {net.ip(1)}"] = 3600
    script = nft_ruleset.render(ruleset, {"allowed": allowed, "bound4": bound})
    sh(net.router, "nft", "-f", "-", stdin=script)


def tunnel(net: Net, seconds: float) -> int:
    packets0, bytes0 = net.dns_upstream()
    sh(net.guest(3), sys.executable, "-c", TUNNEL, str(seconds), LAN_IP)
    packets, nbytes = net.dns_upstream()
    return (nbytes - bytes0) - 28 * (packets - packets0)


def router_port(net: Net, tries: int) -> int:
    url = f"http://{LAN_IP}:2222/"
    return sum(net.fetch_from(net.guest(1), url, 1).startswith("<!DOCTYPE") for _ in range(tries))


def pps(net: Net, seconds: float) -> float:
    """Packets forwarded per CPU-second of the sender (the router's forwarding of a veth
    frame runs in the sender's softirq): the machine's other load does not count."""
    before = net.rx_packets()
    out = sh(net.guest(1), sys.executable, "-c", BLAST, str(seconds), NET_IP)
    cpu = float(out.split()[1])
    return (net.rx_packets() - before) / cpu


def by_hand(net: Net, clients: int, seconds: float, rounds: int) -> dict[str, Any]:
    spec = nft_ruleset.GateSpec(lan=net.bridge, portal_port=8080, wan=net.wan)
    net.spawn(net.router, sys.executable, "-m", "http.server", "2222", "--bind", LAN_IP)
    out: dict[str, Any] = {}
    for name in ("before", "after"):
        load(net, variant(name, spec), 0)
        time.sleep(1.5)  # the DNS limiter's bucket and conntrack settle
        out[f"tunnel_bytes_{name}"] = tunnel(net, seconds)
        out[f"router_port_{name}"] = router_port(net, 5)
    samples: dict[str, list[float]] = {"mac_only": [], "mac_ip": []}
    for _ in range(rounds):
        for name, shape in (("mac_only", "mac_only"), ("mac_ip", "after")):
            load(net, variant(shape, spec), clients)
            samples[name].append(pps(net, 1.5))
    mac_only, mac_ip = (statistics.median(samples[k]) for k in ("mac_only", "mac_ip"))
    out.update(
        clients=clients,
        pps_mac_only=round(mac_only),
        pps_mac_ip=round(mac_ip),
        pps_change_pct=round((mac_ip - mac_only) / mac_only * 100, 1),
        pps_rounds={k: [round(v) for v in samples[k]] for k in samples},
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=9, help="packets/s rounds per rule")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pl-gate-bench-") as tmp:
        net = Net(Path(tmp))
        try:
            net.up()
            net.start_agent()
            results: dict[str, Any] = {"hijack": hijack(net, 5), "clone": clone(net, 10)}
            results["submit_to_online"] = submit_to_online(net, 300, 200)
            net.stop_agent()
            results["by_hand"] = by_hand(net, args.clients, args.seconds, args.rounds)
        finally:
            net.down()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for label, value in table(results, args.seconds):
        print(f"{label:<48}  {value}")
    return 0


def table(results: dict[str, Any], seconds: float) -> list[tuple[str, str]]:
    h, c = results["hijack"], results["clone"]
    s, b = results["submit_to_online"], results["by_hand"]
    return [
        (
            "conflicting IP claim noticed (binding dropped)",
            f"median {h['noticed_ms_median']} ms, max {h['noticed_ms_max']} ms",
        ),
        ("binding back after the owner's ARP", f"median {h['restored_ms_median']} ms"),
        (
            "MAC clone with its own IP reaching the internet",
            f"{c['clone_reached_internet']} of {c['clone_requests']}"
            f" (owner ok {c['owner_ok_of_3']}/3)",
        ),
        (
            "submit -> online (client_for_ip + authorize)",
            f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms ({s['online_before']} online)",
        ),
        (
            f"DNS tunnel upstream in {seconds:.0f} s",
            f"before {b['tunnel_bytes_before']:,} B, after {b['tunnel_bytes_after']:,} B",
        ),
        (
            "router :2222 answers a logged-in guest (of 5)",
            f"before {b['router_port_before']}, after {b['router_port_after']}",
        ),
        (
            f"packets/CPU-s at {b['clients']:,} clients",
            f"MAC-only {b['pps_mac_only']:,}, MAC+IP {b['pps_mac_ip']:,}"
            f" ({b['pps_change_pct']:+.1f}%)",
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
