"""Finding secrets in a prompt before it can leave the machine (issue 10, point 4).

Pure: regexes over the request's own bytes (the rules are in `secret_rules.py`), the policy's private globs and
the keys route was handed. A finding keeps where it is (file and line) and what kind it is, and a masked hint at
most: never the value, so nothing that shows a finding can leak it.

Speed: each rule's anchors are found with `bytes.find` over a lower-cased slice (memory speed, no regex), token
prefixes are looked up at the start of each run of 20+ token characters (found with `bytes.translate` and
`find`), and a rule's regex then runs only in a small window around each, on its line: a 20 MB input costs a
few `find`s per anchor rather than a regex walk over every byte.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache

from routecli.policy.environment import mask
from routecli.routing.inputs import Request
from routecli.routing.secret_rules import RULE_RUN, RULES, SecretKind, value_of
from routecli.values import frozen

SLICE = 1 << 20  # lower-cased a slice at a time, so a big input is never copied whole (3 MB at most held)
# A rule's regex reads a window around its anchor, within the anchor's line: from a little before it (a name
# before `_SECRET=`, a scheme before `://`) to the end of what a secret can be. A long line (a paragraph, a
# minified file) is never read whole, once per anchor on it.
_BACK = 96
_AHEAD = 640
_AHEAD_TOKEN = 4096  # from a token's first character: a JWT can be long
_TAIL = _AHEAD_TOKEN + 512  # read past a slice's end: the longest window plus a PEM body's spill
MAX_FINDINGS = 50  # per source: enough to act on and to show
MIN_KNOWN_KEY = 8  # shorter "keys" (test placeholders) would match ordinary words
# A password has no public prefix: its masked start and end would be half of it.
_NO_HINT = frozenset({SecretKind.PRIVATE_KEY, SecretKind.GCP_SERVICE_ACCOUNT, SecretKind.URL_PASSWORD,
                      SecretKind.AWS_SECRET_KEY, SecretKind.ASSIGNED_SECRET, SecretKind.BEARER_TOKEN,
                      SecretKind.AZURE_KEY})


@frozen
class Finding:
    kind: SecretKind
    source: str  # "file notes/.env", "stdin", "the prompt", "the system prompt"
    line: int | None  # None: the whole file (a private path)
    detail: str = ""  # which one, without its value: MISTRAL_API_KEY, privacy.local_only '*.env'
    hint: str = "-"  # the value masked (sk-…a1b2), for `route explain`

    @property
    def where(self) -> str:
        return f"{self.source} line {self.line}" if self.line else self.source

    @property
    def what(self) -> str:
        return self.kind.text + (f" ({self.detail})" if self.detail else "")

    @property
    def sentence(self) -> str:
        """ "file notes/.env line 3 holds an AWS secret access key" """
        if self.kind is SecretKind.PRIVATE_PATH:
            return f"{self.where} is kept local by the policy ({self.detail})"
        return f"{self.where} holds {self.what}"


def _anchors() -> dict[bytes, tuple[frozenset[int], bytes | None]]:
    """anchor -> (the rules to run near it, what must follow it). Rules sharing an anchor share one `find`."""
    table: dict[bytes, tuple[set[int], bytes | None]] = {}
    for index, rule in enumerate(RULES):
        for anchor in rule.anchors:
            rules, near = table.setdefault(anchor, (set(), rule.near_source))
            rules.add(index)
            if near != rule.near_source:  # two rules on one anchor with different conditions: check neither
                table[anchor] = (rules, None)
    return {anchor: (frozenset(rules), near) for anchor, (rules, near) in table.items()}


def _prefixes() -> dict[bytes, tuple[tuple[bytes, int], ...]]:
    """The first three characters of a token prefix -> (prefix, rule): one dict lookup per long run."""
    table: dict[bytes, list[tuple[bytes, int]]] = {}
    for index, rule in enumerate(RULES):
        for prefix in rule.prefixes:
            table.setdefault(prefix[:3], []).append((prefix, index))
    return {head: tuple(entries) for head, entries in table.items()}


_ANCHORS = _anchors()
_near = lru_cache(maxsize=None)(re.compile)  # compiled on first use, like the rules' own regexes
_PREFIXES = _prefixes()
# Token characters -> "a", everything else -> " ": a run of RULE_RUN "a"s is where a token may start.
_RUNS = bytes(ord("a") if chr(c).isascii() and (chr(c).isalnum() or chr(c) in "_-") else ord(" ")
              for c in range(256))
_RUN = b"a" * RULE_RUN


def scan(
    request: Request,
    private_globs: tuple[str, ...] = (),
    known_keys: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> tuple[Finding, ...]:
    """Every secret in the request, by source in prompt order; a file matching a private glob is one finding."""
    keys = {name: value for name, value in (known_keys or {}).items() if value and len(value) >= MIN_KNOWN_KEY}
    found: list[Finding] = []
    sources: list[tuple[str, bytes, int]] = []  # (name, text, the number of its first line)
    if request.system:
        sources.append(("the system prompt", request.system.encode("utf-8", errors="surrogatepass"), 1))
    if request.history:  # a continued conversation is sent whole: what an earlier turn held goes again
        earlier = "\n".join(turn.text for turn in request.history)
        sources.append(("an earlier turn of the conversation", earlier.encode("utf-8", errors="surrogatepass"), 1))
    if request.instruction.strip():
        instruction = request.instruction.encode("utf-8", errors="surrogatepass")
        sources.append(("the prompt", instruction, 1 - request.added_lines))
    for attachment in request.attachments:
        if attachment.name == "stdin":
            sources.append(("stdin", attachment.data, 1))
            continue
        glob = private_glob(attachment.name, private_globs, cwd or os.getcwd(), attachment.resolved)
        if glob is not None:
            found.append(Finding(SecretKind.PRIVATE_PATH, f"file {attachment.name}", None,
                                 f"privacy.local_only '{glob}'"))
        else:
            sources.append((f"file {attachment.name}", attachment.data, 1))
    for source, data, first_line in sources:
        found += scan_text(data, source, keys, first_line)
    return tuple(found)


def scan_text(
    data: bytes, source: str, known_keys: Mapping[str, str] | None = None, first_line: int = 1
) -> list[Finding]:
    """The secrets in one source, at most one per line, in line order; its first line is `first_line`."""
    by_line: dict[int, Finding] = {}
    for name, value in (known_keys or {}).items():
        at = data.find(value.encode("utf-8", errors="surrogatepass"))
        if at >= 0:
            line = data.count(b"\n", 0, at) + first_line
            by_line.setdefault(line, Finding(SecretKind.KNOWN_KEY, source, line, name, mask(value)))
    start = 0
    while start < len(data) and len(by_line) < MAX_FINDINGS:
        end = min(start + SLICE, len(data))
        if end < len(data):
            newline = data.rfind(b"\n", start, end)
            end = newline + 1 if newline > start else end
        # The next slice's first bytes ride along, read but not searched: a PEM header on a slice's last line
        # still sees its body.
        chunk = bytes(data[start : end + _TAIL])
        _scan_slice(chunk, end - start, source, first_line, by_line)
        first_line += data.count(b"\n", start, end)
        start = end
    return [by_line[line] for line in sorted(by_line)][:MAX_FINDINGS]


def _scan_slice(chunk: bytes, limit: int, source: str, first_line: int, by_line: dict[int, Finding]) -> None:
    """Anchors and token starts are looked for before `limit`; what lies after it is read only by their windows."""
    low = chunk.lower()
    windows: dict[int, tuple[int, set[int]]] = {}  # window start -> (end, rules to run there)

    def window(at: int, rules: frozenset[int] | set[int], ahead: int = _AHEAD) -> int:
        newline = low.rfind(b"\n", max(0, at - _BACK), at)
        begin = newline + 1 if newline >= 0 else max(0, at - _BACK)
        newline = low.find(b"\n", at, at + ahead)
        stop = newline if newline >= 0 else min(len(low), at + ahead)
        end, wanted = windows.get(begin, (stop, set()))
        windows[begin] = (max(end, stop), wanted | rules)
        return stop

    for anchor, (rules, near_source) in _ANCHORS.items():
        at = low.find(anchor, 0, limit)
        near = None if near_source is None or at < 0 else _near(near_source)
        while at >= 0:
            if near is None or near.match(low, at + len(anchor)):
                at = low.find(anchor, window(at, rules), limit)  # the whole window is read: the next hit is past it
            else:
                at = low.find(anchor, at + 1, limit)
    runs = chunk.translate(_RUNS)
    at = runs.find(_RUN, 0, limit + RULE_RUN)
    while 0 <= at < limit:
        head = low[at : at + 16]
        wanted = {index for prefix, index in _PREFIXES.get(head[:3], ()) if head.startswith(prefix)}
        if wanted:
            window(at, wanted, _AHEAD_TOKEN)
        run_end = runs.find(b" ", at)
        at = -1 if run_end < 0 else runs.find(_RUN, run_end, limit + RULE_RUN)
    counted, line = 0, first_line
    for begin in sorted(windows):
        line += chunk.count(b"\n", counted, begin)
        counted = begin
        end, wanted = windows[begin]
        spill = max(RULES[i].spill for i in wanted)
        text = chunk[begin : min(len(chunk), end + spill)].decode("utf-8", errors="replace")
        for index in sorted(wanted):  # the table's order: the most specific rule names the line
            rule = RULES[index]
            at = 0
            while (match := rule.pattern.search(text, at)) is not None:
                at = match.start() + 1  # an invalid match may hide a valid one inside it (`note: KEY=...`)
                if rule.valid is None or rule.valid(match):
                    at_line = line + text.count("\n", 0, match.start())
                    hint = mask(value_of(match)) if rule.kind not in _NO_HINT else "-"
                    detail = match.group("name") if "name" in rule.pattern.groupindex else ""
                    by_line.setdefault(at_line, Finding(rule.kind, source, at_line, detail, hint))
                    break


def private_glob(name: str, globs: tuple[str, ...], cwd: str, resolved: tuple[str, ...] = ()) -> str | None:
    """The first `privacy.local_only` glob that matches this attached file (relative to cwd, or absolute), by
    the path given or by `resolved`, where a symbolic link leads (a link to a private file is private too)."""
    if not globs:
        return None
    absolute = os.path.normpath(os.path.join(cwd, os.path.expanduser(name))).replace(os.sep, "/")
    relative = os.path.relpath(absolute, cwd).replace(os.sep, "/")
    given = os.path.normpath(name).replace(os.sep, "/")
    paths = (relative, absolute, given, *(path.replace(os.sep, "/") for path in resolved))
    names = {path.rsplit("/", 1)[-1] for path in paths}
    for glob in globs:
        pattern = _glob(os.path.expanduser(glob))
        if "/" not in glob.rstrip("/"):  # like .gitignore: a bare name matches at any depth
            if any(pattern.fullmatch(base) for base in names):
                return glob
        elif any(pattern.fullmatch(path) for path in paths):
            return glob
    return None


@lru_cache(maxsize=64)
def _glob(glob: str) -> re.Pattern[str]:
    """A path glob: `*` and `?` stay within one folder, `**` crosses folders, `[...]` is a class."""
    out, i = [], 0
    glob = glob.removeprefix("./")
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 1 :]:
            close = glob.index("]", i + 1)
            inside = glob[i + 1 : close]
            out.append("[" + ("^" + inside[1:] if inside.startswith("!") else inside).replace("\\", "\\\\") + "]")
            i = close + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))
