"""Agent gate figures (issue 9), measured in a throwaway network namespace.

    sudo .venv/bin/python benchmarks/agent_gate.py [--quick]

Prints:
1. time to add the 10th vs the 10,000th MAC to the `allowed` set, and the same
   for a rule-per-client chain (what openNDS/nodogsplash do);
2. portal submit -> MAC in the kernel set (`authorize` over the socket, which
   answers after the element is in the set): p50/p95;
3. reconcile of 5,000 clients after `nft flush table` and after the set lost its elements;
4. agent RSS with 10 and with 5,000 clients.
Only loopback and the benchmark's own namespace are touched.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORCHLIGHT = str(Path(sys.executable).with_name("porchlight"))


def mac(i: int, prefix: str = "02:00") -> str:
    return (
        f"{prefix}:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
    )


def nft(script: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True, timeout=120)


def timed_nft(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(["nft", *argv], check=True, timeout=60, capture_output=True)
    return (time.perf_counter() - start) * 1000


def bulk_elements(name: str, table: str, macs: list[str], timeout: bool) -> str:
    lines = []
    for i in range(0, len(macs), 1000):
        chunk = macs[i : i + 1000]
        items = ", ".join(f"{m} timeout 3600s" if timeout else m for m in chunk)
        lines.append(f"add element inet {table} {name} {{ {items} }}")
    return "\n".join(lines) + "\n"


def add_costs(small: int, big: int, samples: int) -> dict[str, tuple[float, float]]:
    """ms to add one more client with `small` or `big` already there, for a set element and
    for a rule per client: {kind: (median, min)}. Sizes are interleaved so machine load
    hits both alike."""
    script = []
    for n in (small, big):
        script += [
            f"table inet set{n} {{}}",
            f"delete table inet set{n}",
            f"table inet set{n} {{ set allowed {{ type ether_addr; flags timeout; counter; }}; }}",
            f"table inet rule{n} {{}}",
            f"delete table inet rule{n}",
            f"table inet rule{n} {{ chain perclient {{ }}; }}",
        ]
    nft("\n".join(script) + "\n")
    for n in (small, big):
        existing = [mac(i, "02:aa") for i in range(n)]
        nft(bulk_elements("allowed", f"set{n}", existing, timeout=True))
        nft("".join(f"add rule inet rule{n} perclient ether saddr {m} accept\n" for m in existing))
    times: dict[str, list[float]] = {
        f"{kind}{n}": [] for kind in ("set", "rule") for n in (small, big)
    }
    for s in range(samples):
        new = mac(1_000_000 + s, "02:bb")
        for n in (small, big):
            times[f"set{n}"].append(
                timed_nft(
                    ["add", "element", "inet", f"set{n}", "allowed", f"{{ {new} timeout 3600s }}"]
                )
            )
            times[f"rule{n}"].append(
                timed_nft(
                    [
                        "add",
                        "rule",
                        "inet",
                        f"rule{n}",
                        "perclient",
                        "ether",
                        "saddr",
                        new,
                        "accept",
                    ]
                )
            )
    nft(
        "".join(
            f"delete table inet {k}\n"
            for k in ("set", "rule")
            for k in (f"{k}{small}", f"{k}{big}")
        )
    )
    return {key: (statistics.median(v), min(v)) for key, v in times.items()}


def send_dhcp_request(peer: str, hw: str = "020000000099", hostname: bytes = b"bench") -> None:
    """One DHCP request from the veth peer, so the agent's sniffer parses (and imports) DHCP."""
    import socket

    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    frame = bytes(
        Ether(src=":".join(hw[i : i + 2] for i in range(0, 12, 2)), dst="ff:ff:ff:ff:ff:ff")
        / IP(src="0.0.0.0", dst="255.255.255.255")
        / UDP(sport=68, dport=67)
        / BOOTP(chaddr=bytes.fromhex(hw), xid=7)
        / DHCP(options=[("message-type", "request"), ("hostname", hostname), "end"])
    )
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((peer, 0))
        sock.send(frame)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def inner(lan: str, quick: bool) -> None:
    from porchlight.agent import nft_ruleset, sessions
    from porchlight.agent.gate import Gate
    from porchlight.agent.store import open_db
    from porchlight.agent_client import AgentClient

    samples = 10 if quick else 40
    big = 2_000 if quick else 10_000
    print(f"1. cost to add one more client (median / min of {samples} adds, via the nft CLI)")
    costs = add_costs(9, big - 1, samples)
    for kind, label in (("set", "set element"), ("rule", "rule/client")):
        (m10, n10), (mbig, nbig) = costs[f"{kind}9"], costs[f"{kind}{big - 1}"]
        print(
            f"   {label}: 10th {m10:6.2f} / {n10:5.2f} ms   {big}th {mbig:6.2f} / {nbig:5.2f} ms"
            f"   ratio of medians {mbig / m10:.2f}x"
        )

    tmp = Path(tempfile.mkdtemp(prefix="plbench"))
    sock = str(tmp / "agent.sock")
    log = open(tmp / "agent.log", "w")  # noqa: SIM115
    agent = subprocess.Popen(
        [
            PORCHLIGHT,
            "agent",
            "run",
            "--lan",
            lan,
            "--state-dir",
            str(tmp / "state"),
            "--socket",
            sock,
            "--portal-port",
            "8080",
            "--reconcile-seconds",
            "2",
        ],
        stdout=log,
        stderr=log,
    )
    try:
        client = AgentClient(sock, timeout=30)
        for _ in range(200):
            try:
                client.call("status")
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.1)
        peer = lan.replace("plb", "plp", 1)
        import scapy.layers.dhcp  # noqa: F401 - our own import must not count as the agent's time

        seen_ms = []
        for k, hw in enumerate(("020000000099", "0200000000aa", "0200000000bb")):
            name = f"bench{k}"
            start = time.perf_counter()
            send_dhcp_request(peer, hw, name.encode())
            while not any(c["hostname"] == name for c in client.call("status")["clients"]):
                if time.perf_counter() - start > 10:
                    break
                time.sleep(0.002)
            seen_ms.append((time.perf_counter() - start) * 1000)
        print(
            "5. new client seen from its DHCP request (incl. polling status): "
            + ", ".join(f"{v:.1f} ms" for v in seen_ms)
        )
        login = {"channel": "click"}
        for i in range(10):
            client.call("authorize", mac=mac(i, "02:cc"), ip=f"10.50.0.{i + 2}", login=login)
        time.sleep(4.5)
        rss10 = rss_kb(agent.pid)

        n = 100 if quick else 300
        times = []
        for i in range(n):
            start = time.perf_counter()
            client.call(
                "authorize", mac=mac(i, "02:dd"), ip=f"10.51.{i >> 8}.{i & 255}", login=login
            )
            times.append((time.perf_counter() - start) * 1000)
        listing = subprocess.run(
            ["nft", "-j", "list", "set", "inet", "porchlight", "allowed"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        present = sum(1 for i in range(n) if mac(i, "02:dd") in listing)
        times.sort()
        print(
            f"2. portal submit -> MAC in kernel set ({n} authorize calls over the socket): "
            f"p50 {times[n // 2]:.1f} ms  p95 {times[int(n * 0.95)]:.1f} ms  "
            f"max {times[-1]:.1f} ms  ({present}/{n} in the set)"
        )

        # 5,000 clients: sessions written straight into the store, then the agent reloads
        total = 1_000 if quick else 5_000
        db = open_db(tmp / "state" / "agent.db")
        now = time.time()
        for i in range(total - 10 - n):
            sessions.start_session(
                db,
                mac=mac(i, "02:ee"),
                ip=f"10.52.{i >> 8}.{i & 255}",
                now=now,
                length=3600,
                channel="click",
                login=None,
            )
        db.close()
        client.call("reload")
        for _ in range(3):
            client.call("status")
            time.sleep(2.2)
        rss_big = rss_kb(agent.pid)
        print(
            f"4. agent RSS: {rss10 / 1024:.1f} MB with 10 clients, {rss_big / 1024:.1f} MB "
            f"with {total}: growth {(rss_big - rss10) / 1024:.1f} MB"
        )
    finally:
        agent.terminate()
        agent.wait(timeout=10)
        log.close()

    db = open_db(tmp / "state" / "agent.db")
    gate = Gate(db, nft_ruleset.GateSpec(lan=lan, portal_port=8080))
    gate.rebuild(gate.nft.list_table())
    online = len(gate.desired(time.time())["allowed"])
    subprocess.run(["nft", "flush", "table", "inet", "porchlight"], check=True)
    start = time.perf_counter()
    gate.reconcile()
    flushed = (time.perf_counter() - start) * 1000
    subprocess.run(["nft", "flush", "set", "inet", "porchlight", "allowed"], check=True)
    start = time.perf_counter()
    changed = gate.reconcile()
    emptied = (time.perf_counter() - start) * 1000
    state = gate.nft.list_table()
    restored = len(state.sets["allowed"]) if state else 0
    print(
        f"3. reconcile of {online} clients: after `nft flush table` {flushed:.0f} ms; "
        f"after the set was emptied {emptied:.0f} ms ({changed} elements re-added); "
        f"{restored} in the set"
    )
    gate.nft.delete_table()
    db.close()
    print(
        json.dumps(
            {
                "add_ms": costs,
                "p95_ms": times[int(n * 0.95)],
                "reconcile_flush_ms": flushed,
                "reconcile_emptied_ms": emptied,
                "rss_kb": [rss10, rss_big],
            }
        )
    )


def outer(quick: bool) -> int:
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    tag = secrets.token_hex(3)
    ns, lan = f"plb{tag}", f"plb{tag}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        peer = f"plp{tag}"
        subprocess.run(
            ["ip", "-n", ns, "link", "add", lan, "type", "veth", "peer", "name", peer], check=True
        )
        for dev in (lan, peer):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", "10.50.0.1/16", "dev", lan], check=True)
        argv = [sys.executable, __file__, "--inner", lan] + (["--quick"] if quick else [])
        return subprocess.run(["ip", "netns", "exec", ns, *argv], timeout=900).returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (CI smoke)")
    parser.add_argument("--inner", metavar="LAN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.inner, args.quick)
        return 0
    return outer(args.quick)


if __name__ == "__main__":
    sys.exit(main())
