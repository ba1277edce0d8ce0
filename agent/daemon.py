"""`porchlight agent run`: the long-running gate process.

At start: open the store, restore the last applied config, rebuild the
`inet porchlight` table from the store (checked, atomic), then serve the local
API, watch neighbours and DHCP, reconcile every `reconcile_seconds`, and start
the sync worker when ``<state-dir>/device-token`` exists. The table is left in
place on exit so guests stay online (their kernel timeouts still run).

Under systemd (Type=notify) it reports READY=1 once the table is applied and the
socket listens, STATUS= with the clients online, RELOADING=1/READY=1 around a
SIGHUP reload, STOPPING=1 on exit, and WATCHDOG=1 from the reconcile loop while
that loop turns and its watcher threads live (see sd_notify.py).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from porchlight import __version__
from porchlight.agent import nft_ruleset, sd_notify, sessions
from porchlight.agent.api import Api, SocketServer
from porchlight.agent.config import (
    DEFAULT_CONFIG,
    ConfigError,
    dnsmasq_snippet,
    validate_config,
    walled_domains,
)
from porchlight.agent.conntrack import Conntrack
from porchlight.agent.gate import Gate
from porchlight.agent.isolation import apply_isolation
from porchlight.agent.nft import Nft
from porchlight.agent.runner import CommandError, Runner, run
from porchlight.agent.store import db_path, kv_get, kv_set, open_db, snapshot

log = logging.getLogger(__name__)

CONFIG_KEY = "applied_config"
# sessions online: `sessions.remaining` > 0 (a second or more left)
_ONLINE_SQL = (
    "SELECT count(*) FROM sessions WHERE ended_at IS NULL AND expires_at >= ? "
    "AND expires_at > started_at"
)


def spec_for(spec: nft_ruleset.GateSpec, config: dict[str, Any]) -> nft_ruleset.GateSpec:
    """The rules' shape from the command line's `spec` and a validated location config."""
    lan = config["lan"]
    return dataclasses.replace(
        spec,
        bandwidth_kbps=config["session"]["bandwidth_kbps"],
        router_tcp_ports=tuple(lan["router_tcp_ports"]),
        router_udp_ports=tuple(lan["router_udp_ports"]),
        client_isolation=lan["client_isolation"],
    )


class Agent:
    def __init__(
        self,
        *,
        lan: str,
        state_dir: str | Path,
        socket_path: str | Path,
        portal_port: int = 8080,
        portal_tls_port: int | None = None,
        socket_group: str | None = None,
        dnsmasq_conf: str | Path | None = None,
        wan: str | None = None,
        runner: Runner = run,
        reconcile_seconds: float = 5.0,
        watch: bool = True,
        notifier: sd_notify.Notifier | None = None,
        metrics: Any = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.store_path = db_path(self.state_dir)
        self.db = open_db(self.store_path)
        self.dnsmasq_conf = Path(dnsmasq_conf) if dnsmasq_conf else None
        self.reconcile_seconds = reconcile_seconds
        self.watch = watch
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._reload_requested = False
        self._workers: list[Any] = []
        self.notifier = notifier if notifier is not None else sd_notify.Notifier()
        self._status = ""
        config = self._stored_config()
        spec = spec_for(
            nft_ruleset.GateSpec(
                lan=lan, portal_port=portal_port, portal_tls_port=portal_tls_port, wan=wan
            ),
            config,
        )
        resolver = None
        if watch:
            from porchlight.agent.neighbours import lookup

            def resolver(ip: str) -> str | None:
                return lookup(lan, ip)

        self.gate = Gate(
            self.db, spec, nft=Nft(runner), conntrack=Conntrack(runner), resolve_mac=resolver
        )
        self.gate.config = config
        self.api = Api(
            self.gate,
            config=lambda: self.gate.config,
            reload=self.reload,
            store=str(self.store_path),
        )
        self.server = SocketServer(self.api, socket_path, socket_group)
        self.metrics = metrics  # agent/metrics.py's AgentMetrics, with --metrics
        if metrics is not None:
            self.api.observe = metrics.observe

    def _stored_config(self) -> dict[str, Any]:
        raw = kv_get(self.db, CONFIG_KEY)
        if raw:
            try:
                return validate_config(json.loads(raw))
            except (ValueError, ConfigError):
                log.exception("stored config is unusable; using the default")
        return validate_config(DEFAULT_CONFIG)

    # ---- hooks for the sync worker -------------------------------------------------
    def apply_config(self, config: dict[str, Any]) -> None:
        """Validate and apply a location config; on any failure the old one stays in force."""
        self._activate(validate_config(config), persist=True)

    def _activate(self, clean: dict[str, Any], *, persist: bool) -> None:
        gate = self.gate
        old = (gate.config, gate.spec, gate.ruleset)
        spec = spec_for(gate.spec, clean)
        snippet_tmp = None
        with gate.lock:
            try:
                if self.dnsmasq_conf is not None:
                    self.dnsmasq_conf.parent.mkdir(parents=True, exist_ok=True)
                    snippet_tmp = self.dnsmasq_conf.with_name(f".{self.dnsmasq_conf.name}.tmp")
                    snippet_tmp.write_text(dnsmasq_snippet(walled_domains(clean)))
                gate.config, gate.spec, gate.ruleset = clean, spec, nft_ruleset.build(spec)
                gate.rebuild_keeping_walled()
                if persist:
                    with self.db.atomic():
                        kv_set(self.db, CONFIG_KEY, json.dumps(clean, ensure_ascii=False))
                if snippet_tmp is not None and self.dnsmasq_conf is not None:
                    os.replace(snippet_tmp, self.dnsmasq_conf)
            except Exception as exc:
                gate.config, gate.spec, gate.ruleset = old
                if snippet_tmp is not None:
                    snippet_tmp.unlink(missing_ok=True)
                try:
                    gate.rebuild_keeping_walled()
                except CommandError:
                    log.exception("restoring the previous ruleset failed")
                if isinstance(exc, ConfigError):
                    raise
                raise ConfigError(f"config not applied: {exc}") from exc
        log.info("applied location config (%d walled CIDRs)", len(clean["walled_garden"]["cidrs"]))

    def heartbeat_info(self) -> dict[str, Any]:
        # counted in SQL on a snapshot, never under the gate's lock (10,000 guests: the
        # loop this was took ~0.2 s, and systemd's status line asks after every round)
        soon = sessions.iso(self.gate.clock() + 1)
        with snapshot(self.db, self.gate.lock) as conn:
            online = conn.execute(_ONLINE_SQL, [soon]).fetchone()[0]
            depth = conn.execute("SELECT count(*) FROM outbox").fetchone()[0]
        return {
            "agent_version": __version__,
            "uptime_seconds": int(time.monotonic() - self.started),
            "clients_online": online,
            "outbox_depth": depth,
        }

    def deauthorize(self, mac: str, reason: str = "deauthorized") -> bool:
        return self.gate.deauthorize(mac, reason)

    def reload(self) -> None:
        """Re-read the stored config and rebuild the table from the store."""
        self._activate(self._stored_config(), persist=False)

    # ---- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        self.server.refuse_if_taken()
        self.gate.expire()
        try:  # rebuild the table from the store and (re)write the dnsmasq snippet
            self._activate(self.gate.config, persist=False)
        except ConfigError as exc:
            if isinstance(exc.__cause__, CommandError):
                raise exc.__cause__ from None
            raise CommandError(["nft"], str(exc)) from exc
        if self.watch:
            self._start_watchers()
        self.server.start()  # last: a socket that answers means the gate is fully up
        self._start_sync()

    def _start_watchers(self) -> None:
        from porchlight.agent.dhcp import DhcpWatcher
        from porchlight.agent.neighbours import NeighbourWatcher

        lan = self.gate.spec.lan
        neighbours = NeighbourWatcher(
            lan,
            lambda mac, ip: self.gate.seen(mac, ip=ip),
            on_port=lambda _port: apply_isolation(lan, self.gate.spec.client_isolation),
        )
        # a DHCP request names the address a phone *wants*: only the kernel's neighbour
        # entry (and a lookup at login) says who holds one, so DHCP gives names only
        dhcp = DhcpWatcher(
            lan,
            lambda mac, _ip, host, vendor: self.gate.seen(mac, hostname=host, vendor_class=vendor),
        )
        for watcher in (neighbours, dhcp):
            try:
                watcher.start()
                self._workers.append(watcher)
            except OSError:
                log.exception("could not start %s", type(watcher).__name__)

    def _start_sync(self) -> None:
        if not (self.state_dir / "device-token").exists():
            return
        try:
            from porchlight.agent.sync import SyncWorker  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            log.warning("device-token present but the sync module is not installed")
            return
        try:
            worker = SyncWorker(
                store_path=str(self.store_path),
                state_dir=str(self.state_dir),
                apply_config=self.apply_config,
                status=self.heartbeat_info,
                deauthorize=self.deauthorize,
            )
            worker.start()
        except Exception:  # noqa: BLE001 - the gate must run even when sync cannot
            log.exception("sync worker did not start; guests are still served")
            return
        self._workers.append(worker)

    # ---- systemd notification -----------------------------------------------------
    def status_line(self) -> str:
        online = self.heartbeat_info()["clients_online"]
        return f"gating {self.gate.spec.lan}: {online} client{'' if online == 1 else 's'} online"

    def _current_status(self) -> str | None:
        if not self.notifier.enabled:
            return None
        try:
            return self.status_line()
        except Exception:  # noqa: BLE001 - a status line is never worth a failed round
            log.debug("status line failed", exc_info=True)
            return None

    def _report_status(self) -> None:
        line = self._current_status()
        if line is not None and line != self._status:
            self._status = line
            self.notifier.status(line)

    def health(self) -> str | None:
        """What is wrong with the agent's threads, or None (for the watchdog)."""
        for worker in self._workers:
            thread = getattr(worker, "_thread", None)
            if isinstance(thread, threading.Thread) and not thread.is_alive():
                return f"{type(worker).__name__} thread has died"
        return None

    def _reload_notified(self) -> None:
        self.notifier.reloading()
        try:
            self.reload()
        finally:  # a failed reload keeps the old config in force: still ready
            self._status = self._current_status() or ""
            self.notifier.ready(self._status or None)

    def run_forever(self) -> None:
        self.start()
        log.info("agent running on %s", self.gate.spec.lan)
        self._status = self._current_status() or ""
        self.notifier.ready(self._status or None)
        watchdog = sd_notify.Watchdog(self.notifier, sd_notify.watchdog_interval(), self.health)
        if watchdog.enabled:
            log.info("systemd watchdog: a ping every %.1f s", watchdog.interval)
        next_prune = 0.0
        next_round = time.monotonic() + self.reconcile_seconds
        try:
            # wake for the next round or the next watchdog ping, whichever comes first; a
            # round that hangs (nft, a lock) holds back the pings and systemd restarts us
            while not self._stop.wait(
                min(max(0.0, next_round - time.monotonic()), watchdog.seconds_to_next())
            ):
                started = time.monotonic()
                if started >= next_round:
                    wait = self.reconcile_seconds
                    try:
                        if self._reload_requested:
                            self._reload_requested = False
                            self._reload_notified()
                        self.gate.reconcile()
                        if self.metrics is not None:
                            self.metrics.reconciled(time.monotonic() - started)
                        trim_heap()
                        # reading every element is the cost (~0.1 CPU-s per 10,000 over
                        # netlink): space the rounds so reconciling takes at most a tenth
                        # of a core
                        wait = max(self.reconcile_seconds, 10 * (time.monotonic() - started))
                        if time.monotonic() >= next_prune:
                            next_prune = time.monotonic() + 3600
                            self.gate.prune()
                    except Exception:  # noqa: BLE001 - keep gating; the next round retries
                        log.exception("reconcile failed")
                    self._report_status()
                    next_round = time.monotonic() + wait
                watchdog.tick()
        finally:
            self.shutdown()

    def stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        """From a signal handler: only set a flag; the main loop reloads (never re-entrantly)."""
        self._reload_requested = True

    def shutdown(self) -> None:
        self.notifier.stopping()
        for worker in reversed(self._workers):
            try:
                worker.stop()
            except Exception:  # noqa: BLE001
                log.exception("stopping %s failed", type(worker).__name__)
        self._workers.clear()
        self.server.stop()
        if self.metrics is not None:
            self.metrics.stop()
        self.notifier.close()


_LIBC: Any = None


def _libc() -> Any:
    global _LIBC
    if _LIBC is None:
        import ctypes
        import ctypes.util

        _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    return _LIBC


def trim_heap() -> None:
    """Give freed heap back to the system after a big listing (glibc malloc_trim)."""
    try:
        _libc().malloc_trim(0)
    except (OSError, AttributeError):
        log.debug("malloc_trim not available", exc_info=True)


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread its own malloc arena; with a thread per socket request
    that shows up as RSS that only grows. Two arenas are plenty for this daemon."""
    try:
        _libc().mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        log.debug("mallopt not available", exc_info=True)


# How long a thread may hold the interpreter before another gets a turn. Python's 5 ms
# default makes a login wait behind the reconcile's Python work (reading 30,000 set
# elements, the diff) for up to 5 ms each time its own thread gives the interpreter up
# and asks again (every store statement, every netlink call): at 10,000 guests the
# longest authorize during rounds was 77-96 ms, and 17-21 ms at 0.5 ms (load 1-2.5,
# benchmarks/stadium.py --part held), the rounds no slower.
SWITCH_INTERVAL_S = 0.0005


def prefer_short_turns() -> None:
    """`agent run` only: the daemon's threads take short turns (SWITCH_INTERVAL_S)."""
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def install_signal_handlers(agent: Agent) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: agent.stop())
    signal.signal(signal.SIGHUP, lambda *_: agent.request_reload())
