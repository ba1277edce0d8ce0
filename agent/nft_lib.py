"""`nft` in-process: a ctypes binding to the few libnftables calls the agent needs.

`LibNft` is a `Runner` for nft argv (`nft [-c] [-j] -f -` with the script on
stdin, or `nft [-c] [-j] COMMAND...`), so `Nft` sends it exactly what it sends
the `nft` binary and gets the same `CommandError` with nft's own error text.
It saves the ~5 ms fork/exec/parse of one `nft` process per authorize.

One nftables context per library path, made on first use in the process's
network namespace and kept. libnftables is not thread-safe (six threads on one
context crash 1.0.6 within a second), so every call runs on one worker thread,
which is also the lock: callers queue and wait up to their timeout. One thread
also keeps the listing's large, short-lived allocations (~20 MB for 5,000
guests) in one malloc arena, handed back with malloc_trim after a big output,
instead of a copy kept in each caller thread's arena. `-c` is the context's
dry-run flag, `-j` and `-t` its JSON and terse output flags, set for one call and
cleared after.

Why our own binding: PyPI's `pip-nftables` (one release, 1.0.2.post1) has no
dry-run call, takes no lock, and installs a stray top-level `__init__.py` into
site-packages; Debian's `python3-nftables` exists only for the system python.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from porchlight.agent.runner import CommandError

log = logging.getLogger(__name__)

LIBRARY = "libnftables.so.1"
NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_JSON = 1 << 4
NFT_CTX_OUTPUT_TERSE = 1 << 11  # `nft -t`: sets without their elements

BIG_OUTPUT = 256 * 1024  # after an output this size, give freed heap back to the system

_MAKE = threading.Lock()  # one context made per library path
_START = threading.Lock()  # one worker thread started
_shared: dict[str, LibNft] = {}  # library path -> its one context
_worker: ThreadPoolExecutor | None = None  # the one thread that calls libnftables
_T = TypeVar("_T")


def _on_worker(func: Callable[[], _T], timeout: float | None = None) -> _T:
    """Run `func` on the libnftables thread and wait for it (FutureTimeout after `timeout`)."""
    global _worker
    with _START:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="libnftables")
        worker = _worker
    return worker.submit(func).result(timeout)


def _malloc_trim() -> Callable[[], object]:
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


class LibNftUnavailable(Exception):
    """libnftables could not be loaded or gave no context."""


def _bind(path: str) -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(path, use_errno=True)
        signatures: dict[str, tuple[list[type], type | None]] = {
            "nft_ctx_new": ([ctypes.c_uint32], ctypes.c_void_p),
            "nft_ctx_free": ([ctypes.c_void_p], None),
            "nft_ctx_buffer_output": ([ctypes.c_void_p], ctypes.c_int),
            "nft_ctx_buffer_error": ([ctypes.c_void_p], ctypes.c_int),
            "nft_ctx_get_output_buffer": ([ctypes.c_void_p], ctypes.c_char_p),
            "nft_ctx_get_error_buffer": ([ctypes.c_void_p], ctypes.c_char_p),
            "nft_ctx_output_get_flags": ([ctypes.c_void_p], ctypes.c_uint),
            "nft_ctx_output_set_flags": ([ctypes.c_void_p, ctypes.c_uint], None),
            "nft_ctx_set_dry_run": ([ctypes.c_void_p, ctypes.c_bool], None),
            "nft_run_cmd_from_buffer": ([ctypes.c_void_p, ctypes.c_char_p], ctypes.c_int),
        }
        for name, (argtypes, restype) in signatures.items():
            func = getattr(lib, name)
            func.argtypes = argtypes
            func.restype = restype
    except (OSError, AttributeError) as exc:
        raise LibNftUnavailable(f"{path}: {exc}") from exc
    return lib


class LibNft:
    """One libnftables context, called like `runner.run` with nft's argv."""

    def __init__(self, path: str = LIBRARY) -> None:
        self.path = path
        self._lib = _bind(path)
        self._trim = _malloc_trim()
        self._ctx: int | None = _on_worker(self._new_context)
        self._flags = int(_on_worker(lambda: self._lib.nft_ctx_output_get_flags(self._ctx)))

    def _new_context(self) -> int:
        lib = self._lib
        ctx = lib.nft_ctx_new(NFT_CTX_DEFAULT)
        if not ctx:
            raise LibNftUnavailable(f"{self.path}: nft_ctx_new failed")
        if lib.nft_ctx_buffer_output(ctx) or lib.nft_ctx_buffer_error(ctx):
            lib.nft_ctx_free(ctx)
            raise LibNftUnavailable(f"{self.path}: cannot buffer output")
        return int(ctx)

    def close(self) -> None:
        def free() -> None:
            if self._ctx is not None:
                self._lib.nft_ctx_free(self._ctx)
                self._ctx = None

        _on_worker(free)

    def __call__(self, argv: Sequence[str], timeout: float = 10.0, stdin: str | None = None) -> str:
        """Do what `nft` would with `argv` (and `stdin` for `-f -`); return its output."""
        dry_run, output, script = _parse(argv, stdin)

        def call() -> str:
            if self._ctx is None:
                raise CommandError(argv, "libnftables context is closed")
            return self._run(argv, script, dry_run=dry_run, output=output)

        try:
            return _on_worker(call, timeout)
        except FutureTimeout as exc:  # the call itself goes on; callers after it queue
            raise CommandError(argv, f"timed out after {timeout:g}s in libnftables") from exc
        except RuntimeError as exc:  # the worker is gone: the interpreter is shutting down
            raise CommandError(argv, f"libnftables: {exc}") from exc

    def _run(self, argv: Sequence[str], script: str, *, dry_run: bool, output: int) -> str:
        lib, ctx = self._lib, self._ctx
        flags = self._flags | output
        lib.nft_ctx_output_set_flags(ctx, flags)
        lib.nft_ctx_set_dry_run(ctx, dry_run)
        try:
            rc = lib.nft_run_cmd_from_buffer(ctx, script.encode())
        finally:
            lib.nft_ctx_set_dry_run(ctx, False)
            lib.nft_ctx_output_set_flags(ctx, self._flags)
            # read both buffers every time: the library rewinds them on read, so nothing
            # of this call leaks into the next one's output or error text
            out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode(errors="replace")
            err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace")
        if len(out) > BIG_OUTPUT:  # a listing of thousands of guests: hand the heap back
            self._trim()
        if rc != 0:
            stderr = err.strip()
            first = stderr.splitlines()[0] if stderr else f"libnftables returned {rc}"
            raise CommandError(argv, first, returncode=1, stderr=stderr)
        return out


def _parse(argv: Sequence[str], stdin: str | None) -> tuple[bool, int, str]:
    """nft argv -> (dry run, output flags, script); only the options `Nft` uses."""
    if not argv or not all(isinstance(part, str) for part in argv):
        raise ValueError("argv must be a non-empty list of strings")
    dry_run = from_stdin = False
    output = 0
    rest = list(argv[1:])
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in ("-c", "--check"):
            dry_run = True
        elif option in ("-j", "--json"):
            output |= NFT_CTX_OUTPUT_JSON
        elif option in ("-t", "--terse"):
            output |= NFT_CTX_OUTPUT_TERSE
        elif option in ("-f", "--file") and rest[:1] == ["-"]:
            rest.pop(0)
            from_stdin = True
        else:
            raise ValueError(f"nft option {option!r} is not supported in-process")
    if from_stdin:
        if rest:
            raise ValueError("nft -f - takes no command words")
        return dry_run, output, stdin or ""
    if not rest:
        raise ValueError("no nft command given")
    return dry_run, output, " ".join(rest)


def shared(path: str = LIBRARY) -> LibNft:
    """The process's one context for `path` (made on first use)."""
    with _MAKE:
        found = _shared.get(path)
        if found is None:
            found = _shared[path] = LibNft(path)
        return found
