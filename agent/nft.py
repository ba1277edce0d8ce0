"""nftables adapter: argv for `nft`, one injected runner, JSON listings parsed.

Scripts go through `nft -c -f -` (check) before `nft -f -` (apply); one `nft -f`
is one kernel transaction, so a failure leaves the previous ruleset in force.

The real runner is libnftables in-process (`nft_lib.LibNft`, same argv, same
errors) when libnftables.so.1 loads, else the `nft` binary, one process per call.
The reconcile reads the table over netlink (`read_table`, nft_netlink.py); a
full listing (every element with its counter: ~0.6 CPU-s and 3 MB of JSON at
10,000 guests) runs as an `nft` process even with libnftables, which serves one
call at a time: a login's element must not queue behind a listing.
`PORCHLIGHT_NFT_BACKEND=cli|lib|auto` forces a choice and
`PORCHLIGHT_LIBNFTABLES` names another library file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from typing import Any

from porchlight.agent import nft_lib, nft_netlink, nft_ruleset
from porchlight.agent.nft_netlink import SetElement
from porchlight.agent.runner import CommandError, Runner, run

log = logging.getLogger(__name__)

NFT_TIMEOUT = 10.0
BACKEND_ENV = "PORCHLIGHT_NFT_BACKEND"
LIBRARY_ENV = "PORCHLIGHT_LIBNFTABLES"
BACKENDS = ("auto", "lib", "cli")
_announced: set[str] = set()
_announce_lock = threading.Lock()


class NftError(CommandError):
    """`nft` refused a script or a listing."""


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
        if "concat" in value:  # `bound4`: "mac . ip", as nft_ruleset.bound_key writes it
            parts = [_element_key(part) for part in value["concat"]]
            return None if None in parts else " . ".join(str(p) for p in parts)
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


def _announce(level: int, message: str, *args: object) -> None:
    """Log which backend is used, once per process and message."""
    text = message % args
    with _announce_lock:
        if text in _announced:
            return
        _announced.add(text)
    log.log(level, "%s", text)


def real_runner(backend: str | None = None, library: str | None = None) -> tuple[Runner, str]:
    """(runner, "lib" or "cli") for the real nftables, from the arguments or the environment."""
    choice = backend or os.environ.get(BACKEND_ENV) or "auto"
    if choice not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV}: expected one of {', '.join(BACKENDS)}, not {choice!r}")
    if choice == "cli":
        _announce(logging.INFO, "nftables: the nft binary, one process per call (as asked)")
        return run, "cli"
    path = library or os.environ.get(LIBRARY_ENV) or nft_lib.LIBRARY
    try:
        runner = nft_lib.shared(path)
    except nft_lib.LibNftUnavailable as exc:
        if choice == "lib":
            raise NftError(["nft"], f"libnftables unavailable: {exc}") from exc
        _announce(logging.WARNING, "nftables: libnftables unusable (%s); using the nft binary", exc)
        return run, "cli"
    _announce(logging.INFO, "nftables: libnftables in-process (%s)", path)
    return runner, "lib"


class Nft:
    """`nft` for the agent. With the default `runner` (the real one) the backend is
    libnftables when it loads, else the binary; any other runner is used as given."""

    def __init__(
        self,
        runner: Runner = run,
        binary: str = "nft",
        *,
        backend: str | None = None,
        library: str | None = None,
    ) -> None:
        self.backend = "runner"
        if runner is run:
            runner, self.backend = real_runner(backend, library)
        self.runner = runner
        self.binary = binary
        # who lists every element: an `nft` process beside the library, when there is one
        self.lister: Runner = runner
        if self.backend == "lib" and shutil.which(binary):
            self.lister = run

    def _run(self, argv: list[str], stdin: str | None = None, *, lister: bool = False) -> str:
        try:
            return (self.lister if lister else self.runner)(argv, NFT_TIMEOUT, stdin)
        except NftError:
            raise
        except CommandError as exc:
            message = exc.message.removeprefix(f"{exc.argv[0]}: ")  # NftError adds it again
            raise NftError(argv, message, returncode=exc.returncode, stderr=exc.stderr) from exc

    def check(self, script: str) -> None:
        self._run([self.binary, "-c", "-f", "-"], script)

    def apply(self, script: str, *, check: bool = True) -> None:
        """Check then apply `script` atomically; on failure the old ruleset stays."""
        if check:
            self.check(script)
        self._run([self.binary, "-f", "-"], script)

    def rule_counts(self) -> dict[str, int]:
        """{chain: rules} of the chains that hold rules ({}: none, or no table). From the
        kernel over netlink (~1 ms at any size) with the real nft; else a terse listing."""
        if self.backend in ("lib", "cli"):
            try:
                return nft_netlink.rule_counts(nft_ruleset.FAMILY, nft_ruleset.TABLE)
            except nft_netlink.NetlinkUnavailable as exc:
                _announce(logging.WARNING, "rule counts by listing (%s)", exc)
        state = self.list_table(terse=True)
        return {chain: n for chain, n in (state.rule_counts if state else {}).items() if n}

    def read_table(self) -> TableState | None:
        """The managed sets' elements and the rule counts, as a reconcile needs them: with
        the real nft, netlink dumps for the hash sets (cheap at any size, never started
        again by a login meanwhile) and `nft` for the small interval sets; else (or without
        netlink) one full listing."""
        if self.backend in ("lib", "cli"):
            family, table = nft_ruleset.FAMILY, nft_ruleset.TABLE
            try:
                state = TableState(rule_counts=nft_netlink.rule_counts(family, table))
                for name in nft_netlink.KEY_TYPES:
                    state.sets[name] = nft_netlink.set_elements(family, table, name)
            except nft_netlink.NetlinkUnavailable as exc:
                _announce(logging.WARNING, "set elements by listing (%s)", exc)
                return self.list_table()
            state.sets.update(self.list_sets(("cidr4", "cidr6")))
            return state
        return self.list_table()

    def list_table(self, *, terse: bool = False) -> TableState | None:
        """The table's sets and rule counts, or None when the table does not exist.

        `terse`: without set elements (the rules and sets' shape only; cheap at any size).
        """
        flags = ["-j", "-t"] if terse else ["-j"]
        argv = [self.binary, *flags, "list", "table", nft_ruleset.FAMILY, nft_ruleset.TABLE]
        return self._listing(argv, lister=not terse)

    def list_sets(self, names: tuple[str, ...]) -> dict[str, dict[str, SetElement]]:
        """Just these sets' elements ({} for a set or table that is not there)."""
        found: dict[str, dict[str, SetElement]] = {}
        for name in names:
            argv = [self.binary, "-j", "list", "set", nft_ruleset.FAMILY, nft_ruleset.TABLE, name]
            state = self._listing(argv)
            found[name] = state.sets.get(name, {}) if state else {}
        return found

    def _listing(self, argv: list[str], *, lister: bool = False) -> TableState | None:
        try:
            out = self._run(argv, lister=lister)
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
