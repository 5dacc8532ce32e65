"""Gathering the prompt: the argument (the instruction), stdin, and `-f` files, into one Request.

Order, as the README documents: the instruction first, then stdin, then each file in the order given,
each attachment labelled with its name. Binary input is refused; text that is not UTF-8 is decoded as
UTF-16 (when it has a BOM) or Latin-1, with a notice.
"""

from __future__ import annotations

import codecs
import glob
import os
import sys
from dataclasses import field
from functools import cached_property
from pathlib import Path

from routecli.errors import InputError
from routecli.routing.argtext import argument_text, shown_name
from routecli.turns import Turn
from routecli.values import frozen

_SNIFF = 8192
FIRST_CHUNK = 64 * 1024  # what is read of each source before the rest: NUL bytes here refuse it at once
MAX_INPUT_BYTES = 512 * 1024 * 1024  # one source larger than this is refused (a device, an endless pipe)


@frozen
class Attachment:
    """One attached input, kept as UTF-8 bytes: a 50 MB file is held once, and decoded (or joined into
    the prompt) only when a model is actually called."""

    name: str  # file path, or "stdin"
    data: bytes  # UTF-8
    encoding: str  # what it was read as
    raw_size: int
    # The file's real path when a symbolic link (of the file or a folder above it) leads elsewhere: absolute,
    # and relative to the real working folder. `privacy.local_only` matches these as well as the path given.
    resolved: tuple[str, ...] = ()

    @cached_property
    def text(self) -> str:
        return self.data.decode("utf-8")

    def head(self, size: int = _SNIFF) -> str:
        return self.data[:size].decode("utf-8", errors="ignore")

    @property
    def label(self) -> bytes:
        return f"--- {self.name} ---\n".encode()


@frozen
class Request:
    instruction: str
    attachments: tuple[Attachment, ...] = ()
    system: str | None = None
    notices: tuple[str, ...] = field(default=())
    history: tuple[Turn, ...] = ()  # a continued conversation's earlier turns, sent before this prompt
    added_lines: int = 0  # lines route put before the user's own instruction (summarize's), not counted in findings

    @property
    def attached_head(self) -> str:
        """The start of the attached text: all that classification reads of it."""
        return "\n\n".join(a.head() for a in self.attachments)[:_SNIFF]

    def _labelled(self) -> bool:
        return not (len(self.attachments) == 1 and self.attachments[0].name == "stdin")

    def parts(self) -> list[bytes]:
        """The prompt as UTF-8 pieces, in order, without joining them (joined, they are `prompt()`)."""
        pieces: list[bytes] = []
        instruction = self.instruction.strip()
        if instruction:
            pieces.append(instruction.encode("utf-8", errors="surrogatepass"))
        for attachment in self.attachments:
            if pieces:
                pieces.append(b"\n\n")
            if self._labelled():
                pieces.append(attachment.label)
            pieces.append(attachment.data)
        return pieces

    def prompt(self) -> str:
        """The user message sent to the model."""
        return b"".join(self.parts()).decode("utf-8", errors="surrogatepass")

    def size(self) -> int:
        return sum(len(p) for p in self.parts())


_UTF8_CHECK_SLICE = 1 << 20


def _valid_utf8(data: bytes) -> bool:
    """Check UTF-8 a slice at a time, so a huge input is never decoded into one huge string here."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        view = memoryview(data)
        for start in range(0, len(data), _UTF8_CHECK_SLICE):
            decoder.decode(view[start : start + _UTF8_CHECK_SLICE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def decode(data: bytes, name: str) -> tuple[bytes, str, str | None]:
    """(UTF-8 bytes, encoding read, notice). Refuses binary data with the input's name."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{name}: looks like UTF-16 but does not decode; refusing binary input") from None
        return text.encode("utf-8"), "utf-16", f"{name}: decoded as UTF-16 (byte-order mark found)"
    if b"\x00" in data[:_SNIFF]:
        raise InputError(f"{name}: binary input (NUL bytes); route only sends text")
    if _valid_utf8(data):
        return data, "utf-8", None
    head = data[:_SNIFF]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if controls > len(head) * 0.05:
        raise InputError(f"{name}: binary input (not text); route only sends text")
    return data.decode("latin-1").encode("utf-8"), "latin-1", f"{name}: not valid UTF-8, decoded as Latin-1"


def _expand(patterns: list[str]) -> list[str]:
    names: list[str] = []
    for pattern in patterns:
        if pattern == "-":
            names.append("-")
        elif any(ch in pattern for ch in "*?[") and not os.path.lexists(pattern):  # `a[1].txt` that exists is a file
            matches = sorted(glob.glob(pattern, recursive=True))
            files = [m for m in matches if Path(m).is_file()]
            if not files:
                raise InputError(f"{pattern}: no file matches this pattern")
            names.extend(files)
        else:
            names.append(pattern)
    return _once(names)


def _once(names: list[str]) -> list[str]:
    """Each file once, in the order first given: `-f a.md -f '*.md'` (or `-f ./a.md -f a.md`) attaches a.md once."""
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        key = name if name == "-" else os.path.realpath(name)
        if key not in seen:
            seen.add(key)
            unique.append(name)
    return unique


def _read_file(name: str, shown: str) -> bytes:
    path = Path(name)
    if path.is_dir():
        raise InputError(f"{shown}: is a directory (use a glob such as '{shown}/*.md')")
    try:
        with path.open("rb") as stream:
            return read_bounded(stream, shown)
    except FileNotFoundError:
        raise InputError(f"{shown}: no such file") from None
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror or exc})") from None


def _resolved(name: str) -> tuple[str, ...]:
    """Where `name` really is, if a link leads elsewhere: (absolute, relative to the real working folder)."""
    try:
        given, real = os.path.abspath(name), os.path.realpath(name)
        cwd = os.path.realpath(os.getcwd())
    except (OSError, ValueError):
        return ()
    if real == given:
        return ()
    return real, os.path.relpath(real, cwd)


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
        if buffer is None:
            return stream.read().encode("utf-8")
        return read_bounded(buffer, "stdin")
    except OSError:
        return b""


def _too_large(name: str, limit: int) -> InputError:
    return InputError(f"{name}: larger than {limit // (1 << 20):,} MiB, the most route reads of one input")


def read_bounded(buffer: object, name: str, limit: int | None = None) -> bytes:
    """Read a stream into one buffer: exactly sized for a regular file, grown in place for a pipe, so a big
    input is not held twice while it is read. NUL bytes in the first chunk refuse it before the rest is read
    (/dev/zero), and so does growing past `limit` (an endless pipe): memory is never exhausted."""
    limit = MAX_INPUT_BYTES if limit is None else limit  # read now: the tests lower it
    fileno = getattr(buffer, "fileno", None)
    try:
        size = os.fstat(fileno()).st_size if fileno else 0  # type: ignore[misc]
    except (OSError, ValueError):
        size = 0
    if size > limit:
        raise _too_large(name, limit)
    read = buffer.read1 if hasattr(buffer, "read1") else buffer.read  # type: ignore[attr-defined]
    first = read(FIRST_CHUNK)
    if b"\x00" in first and not first.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text holds NULs
        raise InputError(f"{name}: binary input (NUL bytes); route only sends text")
    data = bytearray(max(size, len(first)))
    data[: len(first)] = first
    if size > len(first):
        with memoryview(data) as whole, whole[len(first) :] as rest:
            got = buffer.readinto(rest)  # type: ignore[attr-defined]  # straight into the buffer: no second copy
        del data[len(first) + (got or 0) :]
    while True:
        block = read(1 << 20)
        if not block:
            break
        data += block
        if len(data) > limit:
            raise _too_large(name, limit)
    return data  # type: ignore[return-value]  # a bytearray works wherever bytes do here


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
        label = "stdin" if name == "-" else shown_name(name)
        if name == "-":
            data, stdin_data = stdin_data, b""  # hand the buffer over: held once, by the attachment
        else:
            data = _read_file(name, label)
        if not data or data.isspace():
            if name != "-":
                notices.append(f"{label}: empty, skipped")
            continue
        utf8, encoding, notice = decode(data, label)
        if notice:
            notices.append(notice)
        attachments.append(Attachment(label, utf8, encoding, len(data), () if name == "-" else _resolved(name)))
        del data, utf8  # drop our references: only the attachment keeps the bytes
    instruction, notice = argument_text(argument or "", "the prompt argument")
    notices += [notice] if notice else []
    if system is not None:
        system, notice = argument_text(system, "--system")
        notices += [notice] if notice else []
    if not instruction.strip() and not attachments:
        raise InputError("empty prompt: give text as an argument, on stdin, or with -f FILE")
    return Request(instruction, tuple(attachments), system, tuple(notices))


_SUMMARIZE_TEXT = "Summarize the following text.\n\n"


def as_summary(request: Request) -> Request:
    """`route summarize`: attached text is what to summarize (the argument, if any, says how);
    with nothing attached, the argument itself is the text."""
    if request.attachments:
        how = request.instruction.strip()
        instruction = "Summarize the following." + (f" {how}" if how else "")
    else:
        instruction = _SUMMARIZE_TEXT + request.instruction
        return Request(instruction, (), request.system, request.notices, request.history,
                       added_lines=_SUMMARIZE_TEXT.count("\n"))
    return Request(instruction, request.attachments, request.system, request.notices, request.history)


def truncated(request: Request, max_bytes: int) -> Request:
    """The request with its attached input cut (at a UTF-8 boundary) to at most `max_bytes` in all."""
    left = max_bytes
    kept: list[Attachment] = []
    for attachment in request.attachments:
        if left <= 0:
            break
        data = attachment.data
        if len(data) > left:
            cut = left
            while cut > 0 and (data[cut] & 0xC0) == 0x80:  # do not split a UTF-8 sequence
                cut -= 1
            data = bytes(data[:cut])
        kept.append(Attachment(attachment.name, data, attachment.encoding, attachment.raw_size, attachment.resolved))
        left -= len(data)
    return Request(request.instruction, tuple(kept), request.system, request.notices, request.history,
                   added_lines=request.added_lines)
