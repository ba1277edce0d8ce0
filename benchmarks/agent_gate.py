"""Agent gate figures (issue 9), measured in a throwaway network namespace.

    sudo .venv/bin/python benchmarks/agent_gate.py [--quick] [--backend lib|cli|both]

For each nftables backend (libnftables in-process, or one `nft` process per call;
both by default, one after the other in the same namespace), prints:
1. time to add the 10th vs the 10,000th MAC to the `allowed` set, and the same
   for a rule-per-client chain (what openNDS/nodogsplash do);
2. portal submit -> MAC in the kernel set (`authorize` over the socket, which
   answers after the element is in the set): p50/p95, with 310 and with 5,000 online;
3. reconcile of 5,000 clients after `nft flush table` and after the set lost its elements;
4. agent RSS with 10 and with 5,000 clients;
5. a new client seen after its DHCP request;
6. (lib) RSS of a process that sends the gate's add+delete scripts 20,000 times;
then a table of both. Only loopback and the benchmark's own namespace are touched.
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
from typing import Any

from porchlight.agent.runner import Runner

ROOT = Path(__file__).resolve().parents[1]
PORCHLIGHT = str(Path(sys.executable).with_name("porchlight"))


def mac(i: int, prefix: str = "02:00") -> str:
    return (
        f"{prefix}:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
    )


def nft(script: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True, timeout=120)


def timed_nft(runner: Runner, argv: list[str]) -> float:
    start = time.perf_counter()
    runner(["nft", *argv], 60, None)
    return (time.perf_counter() - start) * 1000


def bulk_elements(name: str, table: str, macs: list[str], timeout: bool) -> str:
    lines = []
    for i in range(0, len(macs), 1000):
        chunk = macs[i : i + 1000]
        items = ", ".join(f"{m} timeout 3600s" if timeout else m for m in chunk)
        lines.append(f"add element inet {table} {name} {{ {items} }}")
    return "\n".join(lines) + "\n"


def add_costs(runner: Runner, small: int, big: int, samples: int) -> dict[str, tuple[float, float]]:
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
                    runner,
                    ["add", "element", "inet", f"set{n}", "allowed", f"{{ {new} timeout 3600s }}"],
                )
            )
            times[f"rule{n}"].append(
                timed_nft(
                    runner,
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
                    ],
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


def churn_rss(cycles: int) -> tuple[int, int, float]:
    """RSS (kB) after 1,000 and after `cycles` authorize+deauthorize kernel changes sent
    in-process, the scripts the gate sends; and the ms per cycle."""
    from porchlight.agent import nft_ruleset
    from porchlight.agent.nft import Nft
    from porchlight.agent.reconcile import Changes

    nft = Nft(backend="lib")
    spec = nft_ruleset.GateSpec(lan="lo")
    nft.apply(nft_ruleset.render(nft_ruleset.build(spec)).replace(" porchlight", " plchurn"))
    warm, start = 0, time.perf_counter()
    for i in range(cycles):
        if i == 1_000:
            warm = rss_kb(os.getpid())
        key, ip = mac(i, "02:fe"), f"10.60.{(i >> 8) & 255}.{i & 255}"
        add = Changes(add={"allowed": {key: 3600}, "rx4": {ip: 3600}}).script()
        nft.apply(add.replace(" porchlight ", " plchurn "), check=False)
        for name, item in (("allowed", key), ("rx4", ip)):
            drop = Changes(delete={name: [item]}).script()
            nft.apply(drop.replace(" porchlight ", " plchurn "), check=False)
    per_cycle = (time.perf_counter() - start) * 1000 / cycles
    nft.apply("delete table inet plchurn\n", check=False)
    return warm, rss_kb(os.getpid()), per_cycle


def inner(lan: str, quick: bool, backend: str) -> dict[str, Any]:
    from porchlight.agent import nft_ruleset, sessions
    from porchlight.agent.gate import Gate
    from porchlight.agent.nft import Nft, real_runner
    from porchlight.agent.store import open_db
    from porchlight.agent_client import AgentClient

    runner, used = real_runner(backend)
    assert used == backend, f"asked for {backend}, got {used}"
    samples = 10 if quick else 40
    big = 2_000 if quick else 10_000
    print(f"== backend {backend} ==")
    print(f"1. cost to add one more client (median / min of {samples} adds)")
    costs = add_costs(runner, 9, big - 1, samples)
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
        env={**os.environ, "PORCHLIGHT_NFT_BACKEND": backend},
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
            f"4. agent RSS: {rss10 / 1024:.1f} MB with 10 clients, "
            f"{rss_big / 1024:.1f} MB with {total}: growth {(rss_big - rss10) / 1024:.1f} MB"
        )
        # the same submit with everyone online: the 2 s reconcile now lists 5,000 elements
        loaded = []
        for i in range(n):
            start = time.perf_counter()
            client.call(
                "authorize", mac=mac(i, "02:ef"), ip=f"10.53.{i >> 8}.{i & 255}", login=login
            )
            loaded.append((time.perf_counter() - start) * 1000)
            time.sleep(0.02)  # spread over a few reconcile periods
        loaded.sort()
        print(
            f"2b. the same with {total} online ({n} calls, 20 ms apart): "
            f"p50 {loaded[n // 2]:.1f} ms  p95 {loaded[int(n * 0.95)]:.1f} ms  "
            f"max {loaded[-1]:.1f} ms"
        )
    finally:
        agent.terminate()
        agent.wait(timeout=10)
        log.close()
    said = (tmp / "agent.log").read_text()
    assert ("libnftables in-process" if backend == "lib" else "the nft binary") in said

    db = open_db(tmp / "state" / "agent.db")
    gate = Gate(db, nft_ruleset.GateSpec(lan=lan, portal_port=8080), nft=Nft(backend=backend))
    gate.rebuild(gate.nft.list_table())
    online = len(gate.desired(time.time())["allowed"])
    start = time.perf_counter()
    gate.nft.list_table()
    listed = (time.perf_counter() - start) * 1000
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
        f"{restored} in the set; one listing of the table {listed:.0f} ms"
    )
    gate.nft.delete_table()
    db.close()
    churn: tuple[int, int, float] | None = None
    if backend == "lib":
        cycles = 2_000 if quick else 20_000
        churn = churn_rss(cycles)
        print(
            f"6. {cycles} authorize+deauthorize kernel changes in-process: RSS "
            f"{churn[0] / 1024:.1f} MB after 1,000, {churn[1] / 1024:.1f} MB after {cycles} "
            f"({churn[2]:.2f} ms per cycle)"
        )
    return {
        "backend": backend,
        "big": big,
        "total": online,
        "add_ratio": costs[f"set{big - 1}"][0] / costs["set9"][0],
        "rule_ratio": costs[f"rule{big - 1}"][0] / costs["rule9"][0],
        "add_ms": [costs["set9"][0], costs[f"set{big - 1}"][0]],
        "p50_ms": times[n // 2],
        "p95_ms": times[int(n * 0.95)],
        "loaded_ms": [loaded[n // 2], loaded[int(n * 0.95)]],
        "reconcile_flush_ms": flushed,
        "reconcile_emptied_ms": emptied,
        "list_ms": listed,
        "rss_kb": [rss10, rss_big],
        "churn_rss_kb": list(churn[:2]) if churn else None,
    }


def summary(results: list[dict[str, Any]]) -> None:
    rows = [
        ("add Nth vs 10th MAC (ratio)", lambda r: f"{r['add_ratio']:.2f}x"),
        ("  ms: 10th / Nth", lambda r: f"{r['add_ms'][0]:.2f} / {r['add_ms'][1]:.2f}"),
        ("rule/client Nth vs 10th", lambda r: f"{r['rule_ratio']:.2f}x"),
        ("submit -> in set p50 (ms)", lambda r: f"{r['p50_ms']:.1f}"),
        ("submit -> in set p95 (ms)", lambda r: f"{r['p95_ms']:.1f}"),
        ("  p50 / p95 with N online", lambda r: "{:.1f} / {:.1f}".format(*r["loaded_ms"])),
        ("reconcile after flush (ms)", lambda r: f"{r['reconcile_flush_ms']:.0f}"),
        ("reconcile, set emptied (ms)", lambda r: f"{r['reconcile_emptied_ms']:.0f}"),
        ("list table (ms)", lambda r: f"{r['list_ms']:.0f}"),
        ("RSS at 10 clients (MB)", lambda r: f"{r['rss_kb'][0] / 1024:.1f}"),
        ("RSS growth 10 -> N (MB)", lambda r: f"{(r['rss_kb'][1] - r['rss_kb'][0]) / 1024:.1f}"),
        (
            "churn RSS 1k -> 20k (MB)",
            lambda r: (
                f"{(r['churn_rss_kb'][1] - r['churn_rss_kb'][0]) / 1024:+.1f}"
                if r["churn_rss_kb"]
                else "-"
            ),
        ),
    ]
    first = results[0]
    print(f"\nsummary (N = {first['big']} for adds, {first['total']} clients online)")
    print(f"{'':30}" + "".join(f"{r['backend']:>14}" for r in results))
    for label, cell in rows:
        print(f"{label:30}" + "".join(f"{cell(r):>14}" for r in results))
    print(json.dumps(results))


def outer(quick: bool, backends: list[str]) -> int:
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    tag = secrets.token_hex(3)
    ns, lan = f"plb{tag}", f"plb{tag}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    results = []
    try:
        peer = f"plp{tag}"
        subprocess.run(
            ["ip", "-n", ns, "link", "add", lan, "type", "veth", "peer", "name", peer], check=True
        )
        for dev in (lan, peer):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", "10.50.0.1/16", "dev", lan], check=True)
        for backend in backends:
            argv = [sys.executable, __file__, "--inner", lan, "--backend", backend]
            done = subprocess.run(
                ["ip", "netns", "exec", ns, *argv, *(["--quick"] if quick else [])],
                timeout=600,
                stdout=subprocess.PIPE,
                text=True,
            )
            print(done.stdout, end="")
            if done.returncode != 0:
                return done.returncode
            results.append(json.loads(done.stdout.splitlines()[-1]))
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    summary(results)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts (CI smoke)")
    parser.add_argument(
        "--backend", choices=("lib", "cli", "both"), default="both", help="nftables backend"
    )
    parser.add_argument("--inner", metavar="LAN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(inner(args.inner, args.quick, args.backend)))
        return 0
    return outer(args.quick, ["lib", "cli"] if args.backend == "both" else [args.backend])


if __name__ == "__main__":
    sys.exit(main())
