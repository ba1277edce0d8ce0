"""A recording runner that behaves like `nft`/`conntrack` enough for unit tests.

It keeps set elements and per-chain rule counts parsed from the scripts the
agent sends, answers `nft -j list table` in nft's JSON shape, and can be told
to fail the next matching command (nft missing, a refused script).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from porchlight.agent.runner import CommandError

_ELEMENTS = re.compile(r"^(add|delete) element inet porchlight (\w+) \{ (.*) \}$")


class FakeKernel:
    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None]] = []
        self.exists = False
        self.sets: dict[str, dict[str, dict]] = {}
        self.rules: dict[str, int] = {}
        self.fail_next: dict[str, CommandError] = {}  # substring of argv/stdin -> error
        self.clock = 0.0  # seconds elapsed, for timeouts

    def fail(self, match: str, stderr: str = "Error: Could not process rule", code: int = 1):
        self.fail_next[match] = CommandError(["nft"], stderr, returncode=code, stderr=stderr)

    def __call__(self, argv: Sequence[str], timeout: float, stdin: str | None = None) -> str:
        argv = list(argv)
        assert timeout and timeout > 0
        self.calls.append((argv, stdin))
        text = " ".join(argv) + "\n" + (stdin or "")
        for match, error in list(self.fail_next.items()):
            if match in text:
                del self.fail_next[match]
                raise error
        if argv[0] == "conntrack":
            raise CommandError(
                argv, "0 flow entries", returncode=1, stderr="0 flow entries have been deleted."
            )
        if argv[:2] == ["nft", "-j"]:
            if not self.exists:
                raise CommandError(
                    argv, "No such file", returncode=1, stderr="Error: No such file or directory"
                )
            return json.dumps(self.listing())
        if argv[:2] == ["nft", "-c"]:
            return ""
        if argv[:2] == ["nft", "-f"]:
            self.apply(stdin or "")
            return ""
        raise AssertionError(f"unexpected command {argv}")

    def apply(self, script: str) -> None:
        chain = None
        for line in script.splitlines():
            line = line.strip()
            if line.startswith("delete table inet porchlight"):
                self.sets, self.rules, self.exists = {}, {}, False
            elif line == "table inet porchlight {":
                self.exists = True
            elif line.startswith("set ") and line.endswith("}"):
                self.sets[line.split()[1]] = {}
            elif line.startswith("chain "):
                chain = line.split()[1]
                self.rules[chain] = 0
            elif chain and line == "}":
                chain = None
            elif chain and not line.startswith("type "):
                self.rules[chain] += 1
            elif m := _ELEMENTS.match(line):
                verb, name, body = m.groups()
                for item in body.split(", "):
                    key, _, rest = item.partition(" timeout ")
                    if verb == "add":
                        timeout = int(rest[:-1]) if rest else None
                        old = self.sets[name].get(key, {"packets": 0, "bytes": 0})
                        self.sets[name][key] = {**old, "expires": timeout}
                    else:
                        if key not in self.sets[name]:
                            raise CommandError(["nft"], "No such file", returncode=1)
                        del self.sets[name][key]

    def flush_rules(self) -> None:
        """What `nft flush table inet porchlight` does: rules go, sets stay."""
        self.rules = dict.fromkeys(self.rules, 0)

    def traffic(self, name: str, key: str, packets: int, nbytes: int) -> None:
        elem = self.sets[name][key]
        elem["packets"] += packets
        elem["bytes"] += nbytes

    def listing(self) -> dict:
        items: list[dict] = [{"metainfo": {"version": "1.0.6"}}]
        items.append({"table": {"family": "inet", "name": "porchlight"}})
        for name, elements in self.sets.items():
            elem = []
            for key, value in elements.items():
                val: Any = key
                if " . " in key:  # a concatenation, as nft lists `bound4`
                    val = {"concat": key.split(" . ")}
                if value.get("expires") is None and name not in ("allowed", "rx4", "bound4"):
                    elem.append(val)
                else:
                    elem.append(
                        {
                            "elem": {
                                "val": val,
                                "timeout": value["expires"],
                                "expires": value["expires"],
                                "counter": {"packets": value["packets"], "bytes": value["bytes"]},
                            }
                        }
                    )
            items.append({"set": {"family": "inet", "name": name, "elem": elem}})
        for chain, count in self.rules.items():
            items.append({"chain": {"family": "inet", "table": "porchlight", "name": chain}})
            items.extend({"rule": {"chain": chain, "expr": []}} for _ in range(count))
        return {"nftables": items}

    def nft_scripts(self) -> list[str]:
        return [stdin or "" for argv, stdin in self.calls if argv[:2] == ["nft", "-f"]]

    def argvs(self, program: str) -> list[list[str]]:
        return [argv for argv, _ in self.calls if argv[0] == program]


@contextmanager
def started_agent(tmp_path: Path, **overrides: Any) -> Iterator[tuple[Any, FakeKernel]]:
    """A real `Agent` (socket API, gate, store) on a FakeKernel, shut down after.

    Defaults: LAN br-lan, state in tmp_path/state, socket tmp_path/agent.sock,
    walled-garden snippet tmp_path/walled.conf, no netlink/DHCP watchers.
    """
    from porchlight.agent.daemon import Agent

    kernel = FakeKernel()
    options: dict[str, Any] = {
        "lan": "br-lan",
        "state_dir": tmp_path / "state",
        "socket_path": tmp_path / "agent.sock",
        "dnsmasq_conf": tmp_path / "walled.conf",
        "runner": kernel,
        "watch": False,
    }
    options.update(overrides)
    agent = Agent(**options)
    agent.start()
    try:
        yield agent, kernel
    finally:
        agent.shutdown()
