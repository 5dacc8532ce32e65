"""Collecting every mistake in the policy files, so one run reports them all (each at its file:line)."""

from __future__ import annotations

from routecli.errors import PolicyError, PolicyErrors


class Problems:
    """The mistakes found so far; checks add to it and carry on, and `raise_if_any` reports them together."""

    def __init__(self) -> None:
        self.found: list[PolicyError] = []

    def add(self, error: PolicyError) -> None:
        if all(error.message != seen.message for seen in self.found):  # a merged mistake can be met twice
            self.found.append(error)

    def report(self, path: str, line: int | None, message: str) -> None:
        self.add(PolicyError(path, line, message))

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_if_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise PolicyErrors(sorted(self.found, key=lambda e: (e.path, e.line or 0)))
