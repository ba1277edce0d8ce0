"""Bounds for everything that arrives from a network: text, integers, times, JSON depth.

Shared by the agent and the admin (`porchlight.events` builds the event
schema on them; the admin's sync API checks bodies and heartbeats with them):

- text has no control character but tab and newline, no lone surrogate
  (neither can be stored in PostgreSQL or written to a spreadsheet);
- integers are whole numbers from 0 to 2^53 - 1 (a JSON number every client
  reads exactly), tighter where a column is smaller;
- times carry a zone and, on the admin, lie in a window around its clock:
  at most `MAX_PAST` before it and `MAX_AHEAD` after it;
- a JSON body nests at most `MAX_DEPTH` levels (measured on the raw bytes
  before parsing, so a 100,000-deep body never reaches the parser).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from itertools import accumulate

MAX_SAFE_INT = 2**53 - 1
MAX_INT32 = 2**31 - 1
MAX_PAST = timedelta(days=400)  # an outbox kept through a long outage
MAX_AHEAD = timedelta(days=1)  # a router clock running ahead (no NTP yet)
MAX_DEPTH = 16

_BAD_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_QUOTED = re.compile(rb'"[^"]*"')
_NOT_QUOTE_OR_BRACKET = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_NOT_STRUCTURE = re.compile(rb"[^\[\]{},]")


class BoundsError(ValueError):
    """A value outside its bounds; the message names the field."""


def bad_character(text: str) -> str | None:
    """The first control character (but tab/newline) or lone surrogate in `text`."""
    found = _BAD_TEXT.search(text)
    return None if found is None else found.group()


def text(value: object, field: str, limit: int) -> str:
    """A string of at most `limit` characters without control characters."""
    if not isinstance(value, str):
        raise BoundsError(f"{field}: expected a string")
    if len(value) > limit:
        raise BoundsError(f"{field}: longer than {limit} characters")
    char = bad_character(value)
    if char is not None:
        raise BoundsError(f"{field}: control character U+{ord(char):04X} is not allowed")
    return value


def whole(value: object, field: str, maximum: int = MAX_SAFE_INT) -> int:
    """An integer from 0 to `maximum` (never more than 2^53 - 1); booleans are not."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BoundsError(f"{field}: expected a whole number")
    top = min(maximum, MAX_SAFE_INT)
    if not 0 <= value <= top:
        raise BoundsError(f"{field}: expected a whole number from 0 to {top}")
    return value


def in_window(when: datetime, field: str, now: datetime) -> datetime:
    """`when` if it lies from `MAX_PAST` before `now` to `MAX_AHEAD` after it."""
    if when < now - MAX_PAST or when > now + MAX_AHEAD:
        raise BoundsError(
            f"{field}: {when.isoformat()} is outside the admin's window "
            f"({MAX_PAST.days} days before to {int(MAX_AHEAD.total_seconds() // 3600)} hours "
            "after its clock); is the router's clock right?"
        )
    return when


def json_depth(raw: bytes) -> int:
    """How deep the JSON document in `raw` nests (strings do not count).

    Escapes go first (a string then holds no quote), then every byte but
    quotes and brackets (``bytes.translate``), then the strings: what is left
    is the brackets, a few thousand bytes for a 1 MiB batch.
    """
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)
    brackets = _QUOTED.sub(b"", raw.translate(None, _NOT_QUOTE_OR_BRACKET))
    if not brackets:
        return 0
    return max(accumulate(1 if b in b"[{" else -1 for b in brackets))


def too_deep_element(raw: bytes, limit: int, key: str = "events") -> int | None:
    """Index of the first element nesting deeper than `limit` inside the array that is
    the top-level object's `key` (``{"events": [...]}``), or None (no such element)."""
    name = json.dumps(key).encode()
    kept = _JSON_STRING.sub(lambda m: m.group() if m.group() == name else b'""', raw)
    depth, start = 0, None
    for found in re.finditer(re.escape(name) + rb"\s*:\s*\[", kept):
        prefix = kept[: found.start()].translate(None, _NOT_BRACKETS)
        depth = sum(1 if b in b"[{" else -1 for b in prefix)
        if depth == 1:  # a key of the top-level object
            start = found.end()
            break
    if start is None:
        return None
    depth, index = 0, 0
    for byte in _NOT_STRUCTURE.sub(b"", kept[start:]):
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return index
        elif byte in b"]}":
            if depth == 0:  # the array ended
                return None
            depth -= 1
        elif depth == 0:  # a comma between the elements
            index += 1
    return None
