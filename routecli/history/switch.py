"""Whether exchanges are kept (`route log on|off`): a small file in the config folder; on unless it says off.

An unreadable or damaged file counts as on: losing a switch must never lose history silently."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from routecli.paths import write_private


def logging_on(path: Path) -> bool:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("log") is False:
            return False
    return True


def set_logging(path: Path, on: bool) -> None:
    """Raises OSError when the config folder cannot be written (the caller says so)."""
    write_private(path, json.dumps({"log": on}) + "\n")
