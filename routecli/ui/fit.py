"""Fitting reports to the terminal's width: which columns to keep, and text wrapped under its label.

A table that does not fit drops its least useful columns first (each report names them in order), so what a
person needs (the model, the cost, the reason) stays whole instead of being cut off with an ellipsis.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Sequence
from typing import TextIO

GAP = 2  # spaces between columns (Rich's box-less tables: one cell padding each side, none at the edges)


def width_of(file: TextIO) -> int | None:
    """The columns to fit: $COLUMNS, else the terminal's; None (no limit) for a pipe or a file."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if hasattr(file, "isatty") and file.isatty():
        return shutil.get_terminal_size().columns
    return None


def keep_columns(
    widths: Sequence[int], droppable: Sequence[int], width: int | None, last_min: int | None = None
) -> list[int]:
    """Indexes of the columns to show: all that fit in `width`, dropping `droppable` in that order until the
    rest fit. `last_min`: the last column wraps, so it needs only that many characters."""
    kept = list(range(len(widths)))

    def needed() -> int:
        sizes = [widths[i] for i in kept]
        if last_min is not None and kept and kept[-1] == len(widths) - 1:
            sizes[-1] = min(sizes[-1], last_min)
        return sum(sizes) + GAP * (len(sizes) - 1)

    for index in droppable:
        if width is None or needed() <= width:
            break
        kept.remove(index)
    return kept


def wrap(text: str, width: int | None, indent: int) -> list[str]:
    """`text` in lines of at most `width` characters, the ones after the first indented by `indent` spaces."""
    if width is None or len(text) <= width:
        return [text]
    return textwrap.wrap(
        text,
        width=max(width, indent + 20),
        subsequent_indent=" " * indent,
        break_on_hyphens=False,
        drop_whitespace=True,
    ) or [text]
