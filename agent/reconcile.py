"""The reconcile core: a pure function (desired, actual) -> changes.

Sets are ``{set name: {element: timeout seconds or None}}``. An element is
added when missing, deleted when not desired, and re-added (which refreshes its
kernel timeout; deleted first, as not every kernel refreshes a timeout on a
plain add) when its remaining time drifts from the store's by more than
`tolerance` seconds (a session extended, or the clock moved).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from porchlight.agent import nft_ruleset

SetContents = Mapping[str, int | None]


@dataclass
class Changes:
    add: dict[str, dict[str, int | None]] = field(default_factory=dict)
    delete: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return any(self.add.values()) or any(self.delete.values())

    def count(self) -> int:
        return sum(len(v) for v in self.add.values()) + sum(len(v) for v in self.delete.values())

    def without(self, touched: set[tuple[str, str]]) -> Changes:
        """These changes minus the (set, element) pairs in `touched` (changed meanwhile)."""
        if not touched:
            return self
        add = {
            n: {k: v for k, v in e.items() if (n, k) not in touched} for n, e in self.add.items()
        }
        delete = {n: [k for k in e if (n, k) not in touched] for n, e in self.delete.items()}
        return Changes(
            add={n: e for n, e in add.items() if e}, delete={n: e for n, e in delete.items() if e}
        )

    def keys(self) -> set[tuple[str, str]]:
        """Every (set, element) pair these changes touch."""
        found = {(name, key) for name, elements in self.add.items() for key in elements}
        return found | {(name, key) for name, keys in self.delete.items() for key in keys}

    def script(self, *, sure: bool = False) -> str:
        """`nft -f` lines: deletions first, then additions (one transaction).

        `sure`: each deleted element is added first (a no-op when it is there), so a
        deletion never fails the transaction for an element that left the kernel since it
        was listed (its timeout ran out, the gate took it out meanwhile).
        """
        lines: list[str] = []
        for name, items in sorted(self.delete.items()):
            if sure:
                texts = [nft_ruleset.element_text(name, key, 1) for key in sorted(items)]
                lines.extend(nft_ruleset.element_lines("add", name, texts))
            lines.extend(nft_ruleset.element_lines("delete", name, sorted(items)))
        for name, elements in sorted(self.add.items()):
            texts = [
                nft_ruleset.element_text(name, element, timeout)
                for element, timeout in sorted(elements.items())
            ]
            lines.extend(nft_ruleset.element_lines("add", name, texts))
        return "\n".join(lines) + ("\n" if lines else "")


def diff(
    desired: Mapping[str, SetContents],
    actual: Mapping[str, SetContents],
    tolerance: int = 60,
) -> Changes:
    changes = Changes()
    for name in sorted(set(desired) | set(actual)):
        want = {k: v for k, v in desired.get(name, {}).items() if v is None or v > 0}
        have = actual.get(name, {})
        add: dict[str, int | None] = {}
        drifted: list[str] = []
        for element, timeout in want.items():
            if element not in have:
                add[element] = timeout
            elif timeout is not None:
                current = have[element]
                if current is None or abs(current - timeout) > tolerance:
                    add[element] = timeout
                    drifted.append(element)
        delete = sorted([element for element in have if element not in want] + drifted)
        if add:
            changes.add[name] = add
        if delete:
            changes.delete[name] = delete
    return changes
