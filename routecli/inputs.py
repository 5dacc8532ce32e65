"""Gathering the prompt: the argument (the instruction), stdin, and `-f` files, into one Request.

Order, as the README documents: the instruction first, then stdin, then each file in the order given,
each attachment labelled with its name. Binary input is refused; text that is not UTF-8 is decoded as
UTF-16 (when it has a BOM) or Latin-1, with a notice.
"""

from __future__ import annotations

import glob
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

_SNIFF = 8192


@dataclass(frozen=True)
class Attachment:
    name: str  # file path, or "stdin"
    text: str
    encoding: str
    raw_size: int


@dataclass(frozen=True)
class Request:
    instruction: str
    attachments: tuple[Attachment, ...] = ()
    system: str | None = None
    notices: tuple[str, ...] = field(default=())

    @property
    def attached_text(self) -> str:
        return "\n\n".join(a.text for a in self.attachments)

    def prompt(self) -> str:
        """The user message sent to the model."""
        parts = [self.instruction.strip()] if self.instruction.strip() else []
        for attachment in self.attachments:
            if attachment.name == "stdin" and len(self.attachments) == 1:
                parts.append(attachment.text)
            else:
                parts.append(f"--- {attachment.name} ---\n{attachment.text}")
        return "\n\n".join(parts)

    def utf8_size(self) -> int:
        return len(self.prompt().encode("utf-8"))


def decode(data: bytes, name: str) -> tuple[str, str, str | None]:
    """(text, encoding, notice). Refuses binary data with the input's name."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", f"{name}: decoded as UTF-16 (byte-order mark found)"
        except UnicodeDecodeError:
            raise InputError(f"{name}: looks like UTF-16 but does not decode; refusing binary input") from None
    if b"\x00" in data[:_SNIFF]:
        raise InputError(f"{name}: binary input (NUL bytes); route only sends text")
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    head = data[:_SNIFF]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if controls > len(head) * 0.05:
        raise InputError(f"{name}: binary input (not text); route only sends text")
    return data.decode("latin-1"), "latin-1", f"{name}: not valid UTF-8, decoded as Latin-1"


def _expand(patterns: list[str]) -> list[str]:
    names: list[str] = []
    for pattern in patterns:
        if pattern == "-":
            names.append("-")
        elif any(ch in pattern for ch in "*?["):
            matches = sorted(glob.glob(pattern, recursive=True))
            files = [m for m in matches if Path(m).is_file()]
            if not files:
                raise InputError(f"{pattern}: no file matches this pattern")
            names.extend(files)
        else:
            names.append(pattern)
    return names


def _read_file(name: str) -> bytes:
    path = Path(name)
    if path.is_dir():
        raise InputError(f"{name}: is a directory (use a glob such as '{name}/*.md')")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def read_stdin() -> bytes:
    stream = sys.stdin
    if stream is None or stream.closed:
        return b""
    try:
        if stream.isatty():
            return b""
    except (ValueError, OSError):
        return b""
    buffer = getattr(stream, "buffer", None)
    try:
        if buffer is not None:
            return buffer.read()
        return stream.read().encode("utf-8")
    except OSError:
        return b""


def gather(
    argument: str | None,
    files: list[str] | None,
    system: str | None = None,
    stdin_data: bytes | None = None,
) -> Request:
    """Build the Request; raises InputError for empty, binary or unreadable input."""
    attachments: list[Attachment] = []
    notices: list[str] = []
    names = _expand(files or [])
    stdin_used = "-" in names
    if stdin_data is None:
        stdin_data = read_stdin()
    if stdin_data and not stdin_used:
        names.insert(0, "-")
    for name in names:
        data = stdin_data if name == "-" else _read_file(name)
        label = "stdin" if name == "-" else name
        if not data.strip():
            if name != "-":
                notices.append(f"{label}: empty, skipped")
            continue
        text, encoding, notice = decode(data, label)
        if notice:
            notices.append(notice)
        attachments.append(Attachment(label, text, encoding, len(data)))
    instruction = argument or ""
    if not instruction.strip() and not attachments:
        raise InputError("empty prompt: give text as an argument, on stdin, or with -f FILE")
    return Request(instruction, tuple(attachments), system, tuple(notices))


def as_summary(request: Request) -> Request:
    """`route summarize`: attached text is what to summarize (the argument, if any, says how);
    with nothing attached, the argument itself is the text."""
    if request.attachments:
        how = request.instruction.strip()
        instruction = "Summarize the following." + (f" {how}" if how else "")
    else:
        instruction = "Summarize the following text.\n\n" + request.instruction
    return Request(instruction, request.attachments, request.system, request.notices)
