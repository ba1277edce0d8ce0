"""Packets through the gate at 10 and at 10,000 clients, and the same through a
rule-per-client chain as openNDS and nodogsplash build one (issue 18, "held").

    sudo .venv/bin/python benchmarks/stadium_pps.py [--clients 10000] [--rounds 5] [--json]

In the benchmark's own namespaces (benchmarks/gate_integrity_net.py: a guest, the
router with the agent's ruleset loaded by hand, an "internet"): a logged-in guest
sends UDP to the internet as fast as one Python process can, for 1.5 s a round.
The router's forwarding of a veth frame runs in the sender's softirq, so packets
per CPU-second of the sender hold the ruleset's cost and leave out the machine's
other load; plain packets per wall-second are printed too. Rounds alternate
between the shapes, so a noisy moment hits each alike:

- ``set_10`` / ``set_10k``: Porchlight's sets (``allowed``, ``bound4``) holding 10
  or `--clients` sessions, the guest among them;
- ``rule_10`` / ``rule_10k``: the same ruleset with the set rule replaced by a jump
  to a chain of one ``ether saddr . ip saddr`` rule per client, the guest's rule
  half way down (an average client: openNDS appends each new client at the end).

Keys: ``pps_ratio_10k`` = set_10k / set_10 (goal >= 0.95) and
``rule_per_client_ratio_10k`` = rule_10k / rule_10, medians of the rounds.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gate_integrity import BLAST, BOUND_RULE  # noqa: E402
from gate_integrity_net import NET_IP, Net, sh  # noqa: E402

from porchlight.agent import nft_ruleset  # noqa: E402

MAX_CLIENTS = 20_000
SECONDS = 1.5


def client(i: int) -> tuple[str, str]:
    """The i-th other guest: a MAC and an address outside the bench's own /24."""
    return f"02:91:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}", (
        f"10.{90 + (i >> 16)}.{i >> 8 & 255}.{i & 255}"
    )


def guests(net: Net, count: int) -> list[tuple[str, str]]:
    """`count` sessions: count - 1 others and the sender (guest 1) half way down."""
    others = [client(i) for i in range(count - 1)]
    return [*others[: len(others) // 2], (net.mac(1), net.ip(1)), *others[len(others) // 2 :]]


def set_shape(net: Net, count: int) -> str:
    ruleset = nft_ruleset.build(nft_ruleset.GateSpec(lan=net.bridge, portal_port=8080, wan=net.wan))
    sessions = guests(net, count)
    allowed: dict[str, int | None] = {m: 3600 for m, _ in sessions}
    bound: dict[str, int | None] = {f"{m} . {ip}": 3600 for m, ip in sessions}
    return nft_ruleset.render(ruleset, {"allowed": allowed, "bound4": bound})


def rule_shape(net: Net, count: int) -> str:
    ruleset = copy.deepcopy(
        nft_ruleset.build(nft_ruleset.GateSpec(lan=net.bridge, portal_port=8080, wan=net.wan))
    )
    hook, rules = ruleset.chains["guest_out"]
    assert BOUND_RULE in rules, "the gate's IPv4 rule changed: update this benchmark"
    ruleset.chains["guest_out"] = (hook, ["jump clients" if r == BOUND_RULE else r for r in rules])
    ruleset.chains["clients"] = (
        "",
        [f"ether saddr {m} ip saddr {ip} accept" for m, ip in guests(net, count)],
    )
    return nft_ruleset.render(ruleset)


def blast(net: Net) -> tuple[float, float]:
    """(packets per CPU-second of the sender, packets per wall-second) over SECONDS."""
    before, start = net.rx_packets(), time.perf_counter()
    out = sh(net.guest(1), sys.executable, "-c", BLAST, str(SECONDS), NET_IP)
    wall = time.perf_counter() - start
    packets, cpu = net.rx_packets() - before, float(out.split()[1])
    return packets / cpu, packets / wall


def measure(net: Net, clients: int, rounds: int) -> dict[str, Any]:
    shapes = {
        "set_10": set_shape(net, 10),
        "set_10k": set_shape(net, clients),
        "rule_10": rule_shape(net, 10),
        "rule_10k": rule_shape(net, clients),
    }
    cpu: dict[str, list[float]] = {name: [] for name in shapes}
    wall: dict[str, list[float]] = {name: [] for name in shapes}
    for _ in range(rounds):
        for name, script in shapes.items():
            sh(net.router, "nft", "-f", "-", stdin=script)
            time.sleep(0.3)
            per_cpu, per_wall = blast(net)
            cpu[name].append(per_cpu)
            wall[name].append(per_wall)
    sh(net.router, "nft", "delete", "table", "inet", "porchlight", check=False)
    med = {name: statistics.median(values) for name, values in cpu.items()}
    out: dict[str, Any] = {"pps_clients": clients, "pps_rounds": rounds}
    for name in shapes:
        out[f"pps_{name}"] = round(med[name])
        out[f"pps_wall_{name}"] = round(statistics.median(wall[name]))
    out["pps_ratio_10k"] = round(med["set_10k"] / med["set_10"], 3)
    out["rule_per_client_ratio_10k"] = round(med["rule_10k"] / med["rule_10"], 3)
    out["pps_ratio_10k_wall"] = round(
        statistics.median(wall["set_10k"]) / statistics.median(wall["set_10"]), 3
    )
    out["pps_load_avg"] = round(os.getloadavg()[0], 2)
    return out


def run(clients: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pl-pps-bench-") as tmp:
        net = Net(Path(tmp), guests=1)
        try:
            net.up()
            return measure(net, clients, rounds)
        finally:
            net.down()


def table(result: dict[str, Any]) -> None:
    print(f"{'shape':<10} {'pkts/CPU-s':>12} {'pkts/s':>10}")
    for name in ("set_10", "set_10k", "rule_10", "rule_10k"):
        print(f"{name:<10} {result[f'pps_{name}']:>12,} {result[f'pps_wall_{name}']:>10,}")
    print(f"pps_ratio_10k             {result['pps_ratio_10k']:.3f}  (goal >= 0.95)")
    print(f"rule_per_client_ratio_10k {result['rule_per_client_ratio_10k']:.3f}  (openNDS-style)")
    print(f"load average              {result['pps_load_avg']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per shape (default 5)")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args()
    if not 10 < args.clients <= MAX_CLIENTS or not 1 <= args.rounds <= 20:
        parser.error(f"--clients 11..{MAX_CLIENTS:,}, --rounds 1..20")
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    result = run(args.clients, args.rounds)
    if args.json:
        print(json.dumps(result))
    else:
        table(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
