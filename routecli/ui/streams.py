"""Standard streams that may fail: a reader gone (`| head`), a full disk (`>/dev/full`), a closed descriptor
(`>&-`). Writing for the person (notices, errors) never stops a run; the reply's own failures are reported
by whoever writes it."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys


class ClosedStream(io.TextIOBase):
    """Stands in for a standard stream whose descriptor was closed when route started (Python gives None):
    every write fails as a write to a closed descriptor does, so it is handled like any failed output."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, f"{self.name} is closed")

    def isatty(self) -> bool:
        return False


class ForgivingStream:
    """stderr as route uses it: what it cannot take (a full disk, a closed terminal) is lost, and the run goes
    on; notices, panels and progress are for the person, the reply and the ledger come first."""

    def __init__(self, stream: object) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)  # type: ignore[attr-defined, no-any-return]
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()  # type: ignore[attr-defined]

    def isatty(self) -> bool:
        try:
            return bool(self._stream.isatty())  # type: ignore[attr-defined]
        except (OSError, ValueError):
            return False

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def stand_in_for_closed() -> None:
    """At start: a closed stdin is no stdin (`route ask hi <&-`: an empty, not a terminal); a closed stdout fails
    writes (the reply has nowhere to go); stderr never fails a write."""
    if sys.stdin is None:
        sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process; takes descriptor 0 too
    if sys.stdout is None:
        sys.stdout = ClosedStream("stdout")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if not isinstance(sys.stderr, ForgivingStream):
        sys.stderr = ForgivingStream(sys.stderr)  # type: ignore[assignment]


def say(text: str) -> None:
    """Write a line for the person to stderr; a stderr that fails loses the line, never the run. Every notice
    and error passes here, and many quote text from elsewhere (a reviewer's reasons, a provider's error, a file's
    name): a terminal gets it without escape sequences or control characters, a pipe byte for byte."""
    from routecli.ui.terminal_text import shown_on

    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(shown_on(sys.stderr, text))
        sys.stderr.flush()


def settle(stream_name: str) -> OSError | None:
    """Flush a standard stream now; if that fails, point its descriptor at /dev/null so Python's own flush at
    exit neither prints "Exception ignored ... BrokenPipeError" nor turns the exit code into 120. Returns the
    failure, if any."""
    stream = getattr(sys, stream_name)
    stream = getattr(stream, "_stream", stream)  # the stream itself, not its forgiving stand-in
    try:
        stream.flush()
        return None
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, stream.fileno())
            os.close(null)
        return exc if isinstance(exc, OSError) else OSError(errno.EBADF, str(exc))
