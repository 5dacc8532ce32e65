"""Mappings and lists that remember where they came from (file and line), for file:line errors.

Kept apart from the YAML loader so that a cached policy can be rebuilt without importing PyYAML.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_NAME = "default policy"


class LineDict(dict):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]
    source: str = "?"

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0
    item_lines: list[int]
    source: str = "?"

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


def encode(value: Any) -> Any:
    """To plain JSON-able data, keeping lines and sources."""
    if isinstance(value, LineDict):
        meta = [value.line, value.key_lines, value.source, getattr(value, "key_sources", None)]
        return {"__ld__": meta, "items": {k: encode(v) for k, v in value.items()}}
    if isinstance(value, LineList):
        return {"__ll__": [value.line, value.item_lines, value.source], "items": [encode(v) for v in value]}
    return value


def decode_hook(obj: dict[str, Any]) -> Any:
    """json.loads object_hook reversing `encode` (children arrive already decoded)."""
    if "__ld__" in obj:
        result = LineDict(obj["items"])
        result.line, result.key_lines, result.source, key_sources = obj["__ld__"]
        if key_sources is not None:
            result.key_sources = key_sources  # type: ignore[attr-defined]
        return result
    if "__ll__" in obj:
        result_list = LineList(obj["items"])
        result_list.line, result_list.item_lines, result_list.source = obj["__ll__"]
        return result_list
    return obj


def brief_path(path: str, default: str) -> str:
    """A policy file as a person would name it: "default policy" for the packaged one (not a site-packages
    path), else the shorter of "./..." (under the working folder) and "~/..." (under the home folder)."""
    if path == default:
        return DEFAULT_NAME
    where = Path(path)
    if not where.is_absolute():
        return path if path.startswith((".", "~")) else f"./{path}"
    names = [path]
    for base, prefix in ((os.getcwd(), "."), (os.path.expanduser("~"), "~")):
        try:
            names.append(f"{prefix}/{where.relative_to(base)}")
        except ValueError:
            continue
    return min(names, key=len)
