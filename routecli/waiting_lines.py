"""Files of JSON lines that wait to be imported (the ledger's and the history's pending rows).

- A batch is claimed before it is read (renamed to `<pending>.<pid>`), so two runs never import it both, and
  rows appended meanwhile start a new file; a claim left by a process that is gone is taken up by the next run.
- It is read line by line: a line that cannot be read (not UTF-8, not JSON, not a row) never stops the others,
  and is never dropped silently either; it is kept aside, byte for byte, in one file named in a notice.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from routecli.paths import append_private_bytes
from routecli.values import frozen

T = TypeVar("T")

# What a line that is not a row raises: not UTF-8 (UnicodeDecodeError is a ValueError), not JSON, the wrong shape,
# a number out of range, nested too deep for the parser.
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, ArithmeticError, RecursionError)


@frozen
class Read:
    items: list[Any]  # each readable line, converted
    unreadable: list[bytes]  # the others, as they were (without their line end)


def read_lines(path: Path, convert: Callable[[Any], T]) -> Read:
    """Every non-blank line of `path` parsed as JSON and given to `convert`, which raises to refuse it.
    Raises OSError when the file cannot be read."""
    items: list[T] = []
    unreadable: list[bytes] = []
    with path.open("rb") as handle:
        for raw in handle:
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                items.append(convert(json.loads(line.decode("utf-8"))))
            except _UNREADABLE:
                unreadable.append(line)
    return Read(items, unreadable)


def aside_path(pending: Path) -> Path:
    """Where the unreadable lines of `pending` are kept: beside it, never imported, never deleted by route."""
    return pending.with_name(pending.name + ".unreadable")


def keep_aside(pending: Path, lines: Iterable[bytes]) -> Path | None:
    """Append `lines` to the aside file of `pending`, else back to `pending` itself (they then wait with the
    next rows, and are set aside again next time); returns where they went, None if nowhere could take them."""
    data = b"".join(line + b"\n" for line in lines)
    if not data:
        return None
    for target in (aside_path(pending), pending):
        with contextlib.suppress(OSError), append_private_bytes(target) as handle:
            handle.write(data)
            return target
    return None


def unreadable_notice(count: int, kept: Path | None, pending: Path) -> str:
    if kept is None:
        return f"{count:,} unreadable line(s) of {pending} could not be kept anywhere and were left out"
    return f"{count:,} unreadable line(s) of {pending} were set aside in {kept}; the other rows were imported"


def claim(batch: Path, pending: Path, number: int = 0) -> Path:
    """`batch` (the pending file, or an abandoned claim of it) renamed to this process's claim of `pending`
    (`number`: several claims held at once); raises OSError when it is gone (another run took it)."""
    claimed = pending.with_name(f"{pending.name}.{os.getpid()}" + (f"-{number}" if number else ""))
    os.replace(batch, claimed)  # atomic: only one process imports a given batch
    return claimed


def put_back(claimed: Path, pending: Path) -> None:
    """A claimed batch that could not be imported back to waiting: appended to the pending file, never over rows
    written there since. If even that fails, the claim stays and is taken up once this process is gone."""
    with contextlib.suppress(OSError):
        with claimed.open("rb") as source, append_private_bytes(pending) as handle:
            shutil.copyfileobj(source, handle)
        claimed.unlink()


def abandoned(pending: Path) -> list[Path]:
    """`<pending>.<pid>[-<n>]`: batches claimed by a process that is gone (killed while importing, or an older
    route that stopped on an unreadable line)."""
    found = []
    with contextlib.suppress(OSError):
        for path in pending.parent.glob(glob.escape(pending.name) + ".*"):
            pid, _, number = path.name[len(pending.name) + 1 :].partition("-")
            if not (pid.isdigit() and (number.isdigit() or not number)):
                continue
            if int(pid) != os.getpid() and not _running(int(pid)):
                found.append(path)
    return sorted(found)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's process
        return True
    except (OSError, OverflowError):  # no such process (or no such pid at all)
        return False
    return True
