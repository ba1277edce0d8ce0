"""Client for the agent's local API (docs/protocols.md, section 1).

Used by the portal (unprivileged) and the operator CLI. One request per
connection: a JSON line out, a JSON line back — or, for a streamed answer
(`status` with ``all``), the answer line, one line per row and an end line.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from porchlight.errors import PorchlightError

MAX_RESPONSE = 4 * 1024 * 1024


class AgentUnavailable(PorchlightError):
    """The agent's socket is missing, refused, or did not answer in time."""


class AgentError(PorchlightError):
    """The agent answered with ``ok: false``; `code` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class AgentClient:
    def __init__(self, path: str, timeout: float = 2.0) -> None:
        self.path = path
        self.timeout = timeout

    @contextmanager
    def _connected(self, action: str, args: dict[str, Any]) -> Iterator[socket.socket]:
        """A socket that has sent the request line; socket faults as `AgentUnavailable`."""
        request = json.dumps({"action": action, **args}, ensure_ascii=False).encode() + b"\n"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.path)
                sock.sendall(request)
                yield sock
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise AgentUnavailable(
                f"agent is not running (no socket at {self.path})",
                hint="start it with 'porchlight agent run'",
            ) from exc
        except TimeoutError as exc:
            raise AgentUnavailable("agent did not answer in time") from exc
        except OSError as exc:
            raise AgentUnavailable(f"cannot talk to the agent: {exc.strerror or exc}") from exc

    def call(self, action: str, **args: Any) -> dict[str, Any]:
        chunks: list[bytes] = []
        size = 0
        with self._connected(action, args) as sock:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_RESPONSE:
                    raise AgentUnavailable("agent answer too large")
                if chunk.endswith(b"\n"):
                    break
        answer = _parsed(b"".join(chunks) or b"null")
        if not answer.get("ok"):
            raise AgentError(str(answer.get("error", "internal")), str(answer.get("message", "")))
        return answer

    def stream(self, action: str, **args: Any) -> Iterator[dict[str, Any]]:
        """A streamed answer: the answer object first, then each row (docs/protocols.md 1.2).

        Raises `AgentError` for a refusal and `AgentUnavailable` when the stream ends
        without its end line (the agent stopped, or a row failed)."""
        with self._connected(action, args) as sock, sock.makefile("rb") as lines:
            yield from _rows(lines)


def _parsed(raw: bytes) -> dict[str, Any]:
    """One answer line as an object, else `AgentUnavailable`."""
    try:
        item = json.loads(raw)
    except ValueError as exc:
        raise AgentUnavailable("agent sent an answer that is not JSON") from exc
    if not isinstance(item, dict):
        raise AgentUnavailable("agent sent an empty answer")
    return item


def _rows(lines: Any) -> Iterator[dict[str, Any]]:
    first = True
    for raw in lines:
        if len(raw) > MAX_RESPONSE:
            raise AgentUnavailable("agent answer too large")
        item = _parsed(raw)
        if first and not item.get("ok"):
            raise AgentError(str(item.get("error", "internal")), str(item.get("message", "")))
        if not first and item.get("end") is True:
            return
        yield item
        if first and not item.get("stream"):
            return  # an answer of one line (an agent that does not stream this action)
        first = False
    raise AgentUnavailable("the agent's answer ended early")
