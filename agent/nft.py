"""nftables adapter: argv for `nft`, one injected runner, JSON listings parsed.

Scripts go through `nft -c -f -` (check) before `nft -f -` (apply); one `nft -f`
is one kernel transaction, so a failure leaves the previous ruleset in force.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from porchlight.agent import nft_ruleset
from porchlight.agent.runner import CommandError, Runner, run

log = logging.getLogger(__name__)

NFT_TIMEOUT = 10.0


class NftError(CommandError):
    """`nft` refused a script or a listing."""


@dataclass(slots=True)
class SetElement:
    timeout: int | None = None  # seconds remaining (``expires``), None without timeout
    packets: int = 0
    bytes: int = 0


@dataclass
class TableState:
    """What the kernel holds for `inet porchlight`."""

    sets: dict[str, dict[str, SetElement]] = field(default_factory=dict)
    rule_counts: dict[str, int] = field(default_factory=dict)

    def elements(self, name: str) -> dict[str, int | None]:
        return {key: elem.timeout for key, elem in self.sets.get(name, {}).items()}


def _element_key(value: Any) -> str | None:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, dict):
        if "prefix" in value:
            return f"{value['prefix']['addr']}/{value['prefix']['len']}".lower()
        if "range" in value:
            low, high = value["range"]
            return f"{low}-{high}".lower()
    return None


def parse_table(listing: dict[str, Any]) -> TableState:
    """Parse `nft -j list table inet porchlight` output."""
    state = TableState()
    for item in listing.get("nftables", []):
        if "set" in item:
            body = item["set"]
            elements: dict[str, SetElement] = {}
            for raw in body.get("elem", []) or []:
                if isinstance(raw, dict) and "elem" in raw:
                    inner = raw["elem"]
                    key = _element_key(inner.get("val"))
                    counter = inner.get("counter") or {}
                    elem = SetElement(
                        timeout=inner.get("expires", inner.get("timeout")),
                        packets=int(counter.get("packets", 0)),
                        bytes=int(counter.get("bytes", 0)),
                    )
                else:
                    key = _element_key(raw)
                    elem = SetElement()
                if key is not None:
                    elements[key] = elem
            state.sets[body["name"]] = elements
        elif "chain" in item:
            state.rule_counts.setdefault(item["chain"]["name"], 0)
        elif "rule" in item:
            chain = item["rule"]["chain"]
            state.rule_counts[chain] = state.rule_counts.get(chain, 0) + 1
    return state


class Nft:
    def __init__(self, runner: Runner = run, binary: str = "nft") -> None:
        self.runner = runner
        self.binary = binary

    def _run(self, argv: list[str], stdin: str | None = None) -> str:
        try:
            return self.runner(argv, NFT_TIMEOUT, stdin)
        except NftError:
            raise
        except CommandError as exc:
            raise NftError(argv, exc.message, returncode=exc.returncode, stderr=exc.stderr) from exc

    def check(self, script: str) -> None:
        self._run([self.binary, "-c", "-f", "-"], script)

    def apply(self, script: str, *, check: bool = True) -> None:
        """Check then apply `script` atomically; on failure the old ruleset stays."""
        if check:
            self.check(script)
        self._run([self.binary, "-f", "-"], script)

    def list_table(self) -> TableState | None:
        """The table's sets and rule counts, or None when the table does not exist."""
        argv = [self.binary, "-j", "list", "table", nft_ruleset.FAMILY, nft_ruleset.TABLE]
        try:
            out = self._run(argv)
        except NftError as exc:
            if "No such file or directory" in exc.stderr or "does not exist" in exc.stderr:
                return None
            raise
        try:
            return parse_table(json.loads(out or "{}"))
        except (ValueError, KeyError, TypeError) as exc:
            raise NftError(argv, f"unreadable listing: {exc}") from exc

    def delete_table(self) -> None:
        """Remove the table (shutdown with --cleanup, tests)."""
        table = f"table {nft_ruleset.FAMILY} {nft_ruleset.TABLE} {{}}"
        self._run([self.binary, "-f", "-"], f"{table}\ndelete {table[:-3]}\n")
