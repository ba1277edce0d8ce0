"""`porchlight portal serve`: the portal under gunicorn, unprivileged.

The master makes one secret per start (unless PORCHLIGHT_PORTAL_SECRET_KEY is
set) and one runtime directory for the shared rate-limit file, so every
worker signs and checks the same form tokens and counts the same attempts.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import tempfile
import time
from typing import Any

from porchlight.errors import UsageError

log = logging.getLogger(__name__)


def _check_bind(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--bind: expected HOST:PORT, got {value!r}")
    return value


def gunicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "bind": [_check_bind(b) for b in args.bind],
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        "timeout": 30,
        "graceful_timeout": 5,
        "keepalive": 5,
        "accesslog": "-" if args.access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "porchlight-portal",
        "limit_request_line": 4094,
        "limit_request_fields": 60,
        # gunicorn's control socket would be one shared path under $HOME: not wanted.
        "control_socket_disable": True,
        "user": args.user,
        "group": args.group,
        **_tls_options(args),
    }


def _tls_options(args: argparse.Namespace) -> dict[str, Any]:
    """gunicorn's certfile/keyfile: both or neither, readable now (not at the first guest)."""
    certfile, keyfile = getattr(args, "certfile", None), getattr(args, "keyfile", None)
    if not certfile and not keyfile:
        return {}
    if not (certfile and keyfile):
        raise UsageError("--certfile and --keyfile go together")
    for flag, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise UsageError(f"{flag} {path}: {exc.strerror}") from exc
    return {"certfile": certfile, "keyfile": keyfile}


def warm_up(app: Any) -> None:
    """Load now, as the starting user, what requests would load lazily.

    Workers may switch to --user, who may not be able to read this Python's
    standard library (installed under a private home): codecs, compiled
    templates and form parsing must already be in memory when they fork.
    """
    import codecs

    from porchlight.guest_page import page
    from porchlight.portal.agent_link import FALLBACK_CONFIG

    for name in ("idna", "unicode-escape", "utf-8", "latin-1", "ascii", "punycode"):
        codecs.lookup(name)
    for lang in ("vi", "th", "en"):
        page.render_login(FALLBACK_CONFIG, lang, errors={"name": "err_name_required"})
        page.render_success(FALLBACK_CONFIG, lang, seconds_remaining=60)
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.0.0.1"
    client.post("/login", data={"csrf_token": "-", "name": "warm-up"})
    client.get("/nope")


def serve(args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from porchlight.portal.app import create_app

    options = gunicorn_options(args)
    if os.geteuid() == 0 and not args.user:
        log.warning("the portal runs as root; pass --user to drop its workers' privileges")
    if not os.path.exists(args.agent_socket):
        log.warning("no agent socket at %s yet; guests will be told", args.agent_socket)
    runtime = tempfile.mkdtemp(prefix="porchlight-portal-")
    if args.user and os.geteuid() == 0:
        import pwd

        try:
            account = pwd.getpwnam(args.user)
        except KeyError as exc:
            shutil.rmtree(runtime, ignore_errors=True)
            raise UsageError(f"--user: no such user {args.user!r}") from exc
        os.chown(runtime, account.pw_uid, account.pw_gid)
    config: dict[str, Any] = {
        "AGENT_SOCKET": args.agent_socket,
        "PORTAL_STATE_DIR": runtime,
        "SECRET_KEY": os.environ.get("PORCHLIGHT_PORTAL_SECRET_KEY") or secrets.token_hex(32),
    }
    if args.portal_url:
        config["PORTAL_URL"] = args.portal_url
    app = create_app(config)  # fail here, in the foreground, on bad settings
    warm_up(app)

    class PortalServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if value is not None:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    log.info("portal on %s, agent at %s", ", ".join(options["bind"]), args.agent_socket)
    master = os.getpid()
    try:
        PortalServer().run()
    finally:
        # Workers are forked inside run() and leave through here too: only the
        # master removes the directory the workers share.
        if os.getpid() == master:
            _remove(runtime)
    return 0


def _remove(path: str) -> None:
    """Remove the runtime directory; workers still exiting may close (and delete)
    their SQLite side files meanwhile, so try a few times."""
    for _ in range(20):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            return
        time.sleep(0.1)
    log.warning("could not remove %s", path)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "serve", help="run the guest portal under gunicorn", description=__doc__
    )
    parser.add_argument(
        "--bind", action="append", required=True, metavar="HOST:PORT", help="listen address"
    )
    parser.add_argument("--agent-socket", required=True, metavar="PATH", help="agent's socket")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--portal-url", help="the portal's own URL (default: the address reached)")
    parser.add_argument("--certfile", metavar="PEM", help="serve HTTPS with this certificate")
    parser.add_argument("--keyfile", metavar="PEM", help="the certificate's private key")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--user", help="when started as root: the user the workers run as")
    parser.add_argument("--group", help="when started as root: the workers' group")
    parser.set_defaults(func=serve)
