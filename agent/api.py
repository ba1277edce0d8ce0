"""The local API (docs/protocols.md section 1): one JSON line per connection on a Unix socket.

Requests over 64 KiB, or not complete within 2 s, are answered with
``bad_request`` and closed; at most `MAX_CLIENTS` connections are served at
once (more are refused at once), so a flood of hanging clients cannot starve
the portal for long or exhaust the agent's threads.
"""

from __future__ import annotations

import grp
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from porchlight.agent import guest_data, sessions
from porchlight.agent.gate import Gate, GateError, clean_mac
from porchlight.agent.gate_status import PAGE_DEFAULT, PAGE_MAX
from porchlight.errors import PorchlightError

log = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024
REQUEST_TIMEOUT = 2.0
MAX_CLIENTS = 32
STREAM = "_stream"  # answer key: rows to write, one JSON line each, after the answer line
STREAM_CHUNK = 64 * 1024


class Api:
    """Named actions over a `Gate`; `config` and `reload` come from the daemon."""

    def __init__(
        self,
        gate: Gate,
        config: Callable[[], dict[str, Any]],
        reload: Callable[[], None],
        store: str | None = None,
    ) -> None:
        self.gate = gate
        self.store = store  # the store's path, so `agent status` never has to guess it
        self._config = config
        self._reload = reload
        # (action, seconds, ok) after each request: the metrics (agent/metrics.py) when on
        self.observe: Callable[[str, float, bool], None] | None = None
        self.actions: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "client_for_ip": lambda r: {"client": gate.client_for_ip(r.get("ip"))},
            "authorize": lambda r: {
                "session": gate.authorize(r.get("mac"), r.get("ip"), r.get("login"))
            },
            "deauthorize": lambda r: {"ended": gate.deauthorize(r.get("mac"), r.get("reason"))},
            "status": self._status,
            "config": lambda r: {"config": self._config()},
            # operator actions (porchlight agent auth/trust/block/reload)
            "admit": self._admit,
            "trust": lambda r: self._list(r, "trusted"),
            "block": lambda r: self._list(r, "blocked"),
            "reload": self._do_reload,
            # the portal's "My data" (agent/guest_data.py): only for a device online now
            "my_data": lambda r: self._guest(r, None),
            "withdraw_marketing": lambda r: self._guest(r, guest_data.withdraw_marketing),
            "request_erasure": lambda r: self._guest(r, guest_data.request_erasure),
        }

    def _guest(
        self, request: dict[str, Any], change: Callable[[Any, str, str], bool] | None
    ) -> dict[str, Any]:
        mac = clean_mac(request.get("mac"))
        gate = self.gate
        with gate.lock:
            if sessions.open_session(gate.db, mac) is None:
                raise GateError("not_logged_in", "this device is not logged in")
            changed = change(gate.db, mac, sessions.iso(gate.clock())) if change else False
            return {"data": guest_data.view(gate.db, mac), "changed": changed}

    def _status(self, request: dict[str, Any]) -> dict[str, Any]:
        """Counts and one page (`limit`, `after`), or with `all` the counts and then every
        client as its own line (`STREAM`: the rows the server writes after the answer)."""
        if request.get("all") is True:
            rows = self.gate.status_stream()
            summary = next(rows)
            return {"summary": summary, "store": self.store, "stream": True, STREAM: rows}
        limit = request.get("limit", PAGE_DEFAULT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
            raise GateError("bad_request", f"limit: expected a whole number 1-{PAGE_MAX}")
        after = request.get("after")
        if after is not None and (not isinstance(after, str) or len(after) > 200):
            raise GateError("bad_request", "after: expected the cursor of the previous page")
        return {**self.gate.status_page(limit=limit, after=after), "store": self.store}

    def _admit(self, request: dict[str, Any]) -> dict[str, Any]:
        seconds = request.get("seconds")
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= 2**31
        ):
            raise GateError("bad_request", "seconds: expected a positive whole number")
        return {"session": self.gate.admit(request.get("mac"), seconds)}

    def _list(self, request: dict[str, Any], name: str) -> dict[str, Any]:
        self.gate.set_list(request.get("mac"), name, remove=bool(request.get("remove")))
        return {}

    def _do_reload(self, request: dict[str, Any]) -> dict[str, Any]:
        self._reload()
        return {}

    def handle(self, raw: bytes) -> dict[str, Any]:
        """One request line -> one answer object; never raises."""
        try:
            request = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _error("bad_request", "request is not a JSON object")
        if not isinstance(request, dict) or not isinstance(request.get("action"), str):
            return _error("bad_request", "request needs an action")
        action = self.actions.get(request["action"])
        if action is None:
            return _error("unknown_action", f"unknown action {request['action'][:40]!r}")
        if self.observe is None:
            return self._run(action, request)
        started = time.monotonic()
        answer = self._run(action, request)
        self.observe(request["action"], time.monotonic() - started, bool(answer["ok"]))
        return answer

    @staticmethod
    def _run(
        action: Callable[[dict[str, Any]], dict[str, Any]], request: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return {"ok": True, **action(request)}
        except GateError as exc:
            return _error(exc.code, exc.message)
        except PorchlightError as exc:
            return _error("bad_request", exc.message)
        except Exception:  # noqa: BLE001 - the answer says internal, the log has the trace
            log.exception("action %s failed", request["action"])
            return _error("internal", "the agent failed; see its log")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": code, "message": message}


def read_request(conn: socket.socket, deadline: float) -> bytes | None:
    """Read one line within `deadline` (monotonic); None if too big or too slow."""
    data = bytearray()
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        conn.settimeout(left)
        try:
            chunk = conn.recv(65536)
        except (TimeoutError, OSError):
            return None
        if not chunk:
            break
        data.extend(chunk)
        if len(data) > MAX_REQUEST:
            return None
    line = bytes(data).split(b"\n", 1)[0]
    return line if len(line) <= MAX_REQUEST else None


class SocketServer:
    def __init__(self, api: Api, path: str | Path, group: str | None = None) -> None:
        self.api = api
        self.path = Path(path)
        self.group = group
        self._sock: socket.socket | None = None
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self._stop = threading.Event()

    def refuse_if_taken(self) -> None:
        """Raise if another agent answers on our socket path (two gates would fight)."""
        if not self.path.is_socket():
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            try:
                probe.connect(str(self.path))
            except OSError:
                return  # a stale socket from a crash: start() replaces it
        raise PorchlightError(f"another agent is already running on {self.path}")

    def start(self) -> None:
        gid = -1
        if self.group:
            try:
                gid = grp.getgrnam(self.group).gr_gid
            except KeyError as exc:
                raise PorchlightError(f"socket group {self.group!r} does not exist") from exc
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_socket():
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o117)  # the socket is born 0660, never briefly wider
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o660)
        if gid >= 0:
            os.chown(self.path, -1, gid)
        sock.listen(128)
        sock.settimeout(0.5)
        self._sock = sock
        threading.Thread(target=self._accept_loop, name="api", daemon=True).start()
        log.info("local API listening on %s", self.path)

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                log.exception("accept failed")
                continue
            if not self._slots.acquire(blocking=False):
                self._reply(conn, _error("internal", "agent busy; try again"))
                conn.close()
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            raw = read_request(conn, time.monotonic() + REQUEST_TIMEOUT)
            if raw is None:
                answer = _error("bad_request", "request too large, too slow or incomplete")
            else:
                answer = self.api.handle(raw)
            rows = answer.pop(STREAM, None)
            self._reply(conn, answer)
            if rows is not None:
                self._stream(conn, rows)
        finally:
            conn.close()
            self._slots.release()

    @staticmethod
    def _stream(conn: socket.socket, rows: Iterator[dict[str, Any]]) -> None:
        """One JSON line per row, then `{"end": true, "count": n}` (a stream cut short has
        no end line); written in chunks, never under the gate's lock."""
        count, buffer = 0, bytearray()
        try:
            for row in rows:
                buffer += json.dumps(row, ensure_ascii=False).encode() + b"\n"
                count += 1
                if len(buffer) >= STREAM_CHUNK:
                    conn.sendall(buffer)
                    buffer.clear()
            buffer += json.dumps({"end": True, "count": count}).encode() + b"\n"
            conn.sendall(buffer)
        except OSError:
            log.debug("client went away during a streamed answer")
        except Exception:  # noqa: BLE001 - the stream ends without its end line
            log.exception("streamed answer failed after %d rows", count)
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _reply(conn: socket.socket, answer: dict[str, Any]) -> None:
        try:
            conn.settimeout(REQUEST_TIMEOUT)
            conn.sendall(json.dumps(answer, ensure_ascii=False).encode() + b"\n")
        except OSError:
            log.debug("client went away before the answer")

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
        try:
            if self.path.is_socket():
                self.path.unlink()
        except OSError:
            log.debug("could not remove %s", self.path)
