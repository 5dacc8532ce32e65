"""A live line on stderr while a call has produced no text: `route: waiting for claude-haiku (12 s)`.

Shown only on a terminal, after a moment (a prompt answer needs none), redrawn each second in place, and
wiped before the first text is printed or the call ends, so nothing of it stays on the screen or in a log.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

SHOW_AFTER = 2.0  # seconds of silence before the line appears
REDRAW_EVERY = 1.0
_WIPE = "\r\x1b[K"  # back to the start of the line, clear it


class WaitingLine:
    def __init__(self, stream: TextIO | None = None, after: float | None = None, every: float | None = None) -> None:
        self.stream = stream
        self.after = SHOW_AFTER if after is None else after
        self.every = REDRAW_EVERY if every is None else every
        self._lock = threading.Lock()
        self._done: threading.Event | None = None
        self._drawn = False

    def start(self, alias: str) -> None:
        self.stop()
        done = threading.Event()
        self._done = done
        threading.Thread(
            target=self._run, args=(alias, done, time.monotonic()), name="route-waiting", daemon=True
        ).start()

    def stop(self) -> None:
        with self._lock:
            if self._done is not None:
                self._done.set()
                self._done = None
            if self._drawn:
                self._write(_WIPE)
                self._drawn = False

    def _run(self, alias: str, done: threading.Event, began: float) -> None:
        wait = self.after
        while not done.wait(wait):
            with self._lock:
                if done.is_set():  # stopped while this thread waited for the lock
                    return
                self._write(f"{_WIPE}route: waiting for {alias} ({time.monotonic() - began:.0f} s)")
                self._drawn = True
            wait = self.every

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stderr
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # the terminal went away (SIGHUP): nothing to show it on
            pass
