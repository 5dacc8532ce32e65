"""What the user asked of one request, beyond its text: built once from the command line (`cli/request.py`)
and handed unchanged to classification, the decision, planning and execution."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from routecli.values import frozen

if TYPE_CHECKING:  # the scanner is imported by the plan that runs it, not by the command line
    from routecli.routing.secrets import Finding


@frozen(eq=False)
class RequestOptions:
    task: str | None = None  # -t: the task, forced
    complexity: int | None = None  # --complexity 1-10, forced
    pinned: str | None = None  # -m ALIAS
    profile: str | None = None
    local_only: bool = False
    interactive: bool = False
    max_tokens: int | None = None  # the user's own output limit
    request_budget: Decimal | None = None  # --max-cost, tighter than the policy's per-request budget
    exact_tokens: bool = False  # count tokens exactly even when no threshold needs it
    truncate: bool = False  # cut an input that fits no window to the largest usable one
    allow_secrets: bool = False  # --allow-secrets: a prompt holding a secret may go to a remote model
    secrets: tuple[Finding, ...] = ()  # what the prompt holds: found by plan.py in the text, not given by the user

    @property
    def keep_local(self) -> bool:
        """The prompt holds a secret the user did not let out: only local models may take it."""
        return bool(self.secrets) and not self.allow_secrets

    def but(self, **changes: object) -> RequestOptions:
        """A copy with some fields changed (map-reduce pins a chunk model, sets a shorter output)."""
        return replace(self, **changes)  # type: ignore[arg-type]
