"""Text from elsewhere (a model's reply, the history) made safe to show on a terminal: escape sequences
(colours, cursor moves, ESC[2J, OSC titles and hyperlinks) and other control characters are removed, except
newline and tab. Only for a terminal: a pipe or a file gets the text byte for byte."""

from __future__ import annotations

import re
from typing import TextIO

_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI: ESC[2J, colours, cursor moves
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, APC ... strings
    r"|\x1b[ -/]*[0-~]?"  # any other escape (charset switches, ESC c reset)
)
# C0 but \t and \n, DEL, C1, and the bidirectional overrides and isolates (text shown in an order it is not)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_COMPLETE = re.compile(  # a sequence that has ended: its final byte, or its string terminator
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-OQ-WYZ\\`-~]"  # not `[`, `]`, P, X, ^, _: those open a longer sequence
)
_INTRODUCER = re.compile(r"[\x1b\x90\x98\x9b\x9d\x9e\x9f]")
_LONGEST_HELD = 256  # an escape sequence still open after this many characters is dropped, not waited for


def for_terminal(text: str) -> str:
    """`text` without escape sequences or control characters other than newline and tab."""
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def shown_on(stream: TextIO | None, text: str) -> str:
    """`text` as it may be written to `stream`: cleaned for a terminal, untouched otherwise."""
    try:
        terminal = stream is not None and stream.isatty()
    except (ValueError, OSError):
        terminal = False
    return for_terminal(text) if terminal else text


class TerminalFilter:
    """for_terminal() over a streamed reply: a sequence split between two pieces (ESC here, `]0;title BEL`
    in the next) is held back until it ends, so none of it shows."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        self._held = ""
        start = max((found.start() for found in _INTRODUCER.finditer(text)), default=None)  # the last one
        if start is not None and len(text) - start <= _LONGEST_HELD and _COMPLETE.match(text, start) is None:
            text, self._held = text[:start], text[start:]  # not ended yet: wait for the next piece
        return for_terminal(text)
