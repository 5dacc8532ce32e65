"""Command-line text that is not UTF-8: Python hands such argument bytes over as lone surrogates
(surrogateescape), which no encoder accepts. They are read as a non-UTF-8 file is (routing/inputs.decode):
Latin-1, or replacement characters when valid UTF-8 is mixed in; names are shown with replacement
characters. So a stray byte never becomes a traceback."""

from __future__ import annotations


def _stray(char: str) -> bool:
    return "\udc80" <= char <= "\udcff"  # one byte that was not UTF-8, as surrogateescape carries it


def has_stray_bytes(text: str) -> bool:
    """True when `text` carries argument bytes that were not UTF-8."""
    return any(_stray(char) for char in text)


def argument_text(text: str, what: str) -> tuple[str, str | None]:
    """(the text as a string every encoder takes, a notice or None)."""
    if not has_stray_bytes(text):
        return text, None
    raw = text.encode("utf-8", "surrogateescape")
    if all(_stray(char) for char in text if not char.isascii()):  # a Latin-1 terminal: every accent is a byte
        return raw.decode("latin-1"), f"{what}: not valid UTF-8, decoded as Latin-1"
    return raw.decode("utf-8", "replace"), f"{what}: not valid UTF-8, undecodable bytes replaced"


def shown_name(name: str) -> str:
    """A file name fit to print and record: bytes that are not UTF-8 become U+FFFD (the file is still opened
    by its real name)."""
    if not has_stray_bytes(name):
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
