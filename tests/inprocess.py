"""Run `route ARGS` inside the test process, as `python -m routecli ARGS` would run in a child, with no new interpreter.

For the call, the process looks like the child's: os.environ is exactly the given environment, the cwd and
sys.argv are set, stdin is the given bytes (not a terminal), stdout and stderr are byte buffers with the
child's encodings, `sys.modules["__main__"]` says `python -m routecli` so usage lines name the program as the
child would, routecli's functools caches start empty, and warnings and thread errors print as a bare interpreter
prints them. Everything is put back afterwards, including SIGINT/SIGTERM handlers a command installs.
What this cannot give (a real exit, signals from outside, a terminal, process timeouts) is route_process's job.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
import types
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import routecli
from routecli.cli import main

_MAIN_FILE = str(Path(routecli.__file__).with_name("__main__.py"))  # what sys.argv[0] is under `python -m routecli`
_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Pipe(io.BytesIO):
    """A pipe's end: not a terminal, and no file descriptor (so nothing sizes it with fstat)."""

    def isatty(self) -> bool:
        return False


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def _process_state(args: tuple[str, ...], cwd: Path) -> Iterator[None]:
    """argv, cwd, the __main__ module and signal handlers, as a child started with `python -m routecli` has them."""
    saved_argv, saved_cwd, saved_main = sys.argv, os.getcwd(), sys.modules["__main__"]
    saved_handlers = {signum: signal.getsignal(signum) for signum in _HANDLED_SIGNALS}
    as_module = types.ModuleType("__main__")
    as_module.__package__ = "routecli"  # click names the program "python -m routecli" from this
    as_module.__file__ = _MAIN_FILE
    sys.argv = [_MAIN_FILE, *args]
    sys.modules["__main__"] = as_module
    os.chdir(cwd)
    try:
        yield
    finally:
        sys.argv = saved_argv
        sys.modules["__main__"] = saved_main
        os.chdir(saved_cwd)
        for signum, handler in saved_handlers.items():
            signal.signal(signum, handler)


@contextmanager
def _standard_streams(stdin: bytes) -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    """stdin from bytes; stdout and stderr into byte buffers, encoded as Python encodes them for pipes."""
    stdout = io.TextIOWrapper(_Pipe(), encoding="utf-8")
    stderr = io.TextIOWrapper(_Pipe(), encoding="utf-8", errors="backslashreplace", line_buffering=True)
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.TextIOWrapper(_Pipe(stdin), encoding="utf-8"), stdout, stderr
    try:
        yield stdout, stderr
    finally:
        if sys.stdout not in (stdout, saved[1]):
            sys.stdout.close()  # a command swapped it (main() opens os.devnull after a broken pipe)
        sys.stdin, sys.stdout, sys.stderr = saved


@contextmanager
def _interpreter_defaults() -> Iterator[None]:
    """Warnings and errors in threads or finalizers go to stderr as a bare interpreter prints them, not into
    pytest's own hooks, so a test reading stderr (say, for "Traceback") sees what a child would have printed."""
    saved_thread_hook, saved_unraisable_hook = threading.excepthook, sys.unraisablehook
    threading.excepthook, sys.unraisablehook = threading.__excepthook__, sys.__unraisablehook__
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()  # then Python's default filters, most general first (each one is prepended)
            for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning, DeprecationWarning):
                warnings.simplefilter("ignore", category)
            warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
            warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]  # prints to sys.stderr
            yield
    finally:
        threading.excepthook, sys.unraisablehook = saved_thread_hook, saved_unraisable_hook


def _forget_process_caches() -> None:
    """A child starts with empty functools caches (e.g. the SSL context, built from SSL_CERT_FILE on first use);
    found by looking, so modules that move between packages are still covered."""
    for name, module in list(sys.modules.items()):
        if name == "routecli" or name.startswith("routecli."):
            for value in list(vars(module).values()):
                if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                    value.cache_clear()


def _written(stream: io.TextIOWrapper) -> str:
    stream.flush()  # what interpreter exit does
    data = stream.buffer.getvalue()  # type: ignore[attr-defined]
    return data.decode("utf-8", "replace")


def _exit_code(code: object) -> int:
    """What the interpreter makes of SystemExit(code)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run_route(args: tuple[str, ...], stdin: bytes, env: Mapping[str, str], cwd: Path) -> tuple[int, str, str, float]:
    """(exit code, stdout, stderr, seconds) of `route ARGS` run in this process."""
    started = time.monotonic()
    _forget_process_caches()
    with (
        _environment(env),
        _process_state(args, cwd),
        _standard_streams(stdin) as (stdout, stderr),
        _interpreter_defaults(),
    ):
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = _exit_code(exit_.code)
        return code, _written(stdout), _written(stderr), time.monotonic() - started
