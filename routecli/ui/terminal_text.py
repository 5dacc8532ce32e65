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
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but \t and \n, DEL, C1


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
