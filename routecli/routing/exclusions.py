"""Why a model may not take a request: typed values the decision reasons with, words only for people.

Code decides on `Exclusion.kind`; only renderers read `Exclusion.text`. A provider named "budget" or a model
alias containing "too small" can then never change a decision or an exit code.
"""

from __future__ import annotations

from enum import Enum

from routecli.values import frozen


class Why(str, Enum):  # noqa: UP042 - a StrEnum would change how str() and format() render it
    NOT_LOCAL = "not_local"  # --local and a remote provider
    NO_LOCAL_SERVER = "no_local_server"  # a local provider whose server does not answer
    LOCAL_NOT_ENABLED = "local_not_enabled"
    NO_KEY = "no_key"
    BAD_SETTING = "bad_setting"  # a key or base URL in the environment that can never work (exit 2 if it decides)
    COOLING_DOWN = "cooling_down"
    TIER = "tier"  # below the tier the task and complexity require
    WINDOW = "window"  # the context window is too small for the input plus the output reserve
    ESCALATION_WINDOW = "escalation_window"  # an escalation rule asks for a larger window
    ESCALATION_TIER = "escalation_tier"  # an escalation rule asks for a higher tier
    PROFILE_CAP = "profile_cap"  # over the profile's cost cap per request
    REQUEST_BUDGET = "request_budget"  # worst case over the per-request budget (--max-cost, budgets.per_request)
    DAY_BUDGET = "day_budget"
    MONTH_BUDGET = "month_budget"
    UNPRICED = "unpriced"  # no price, and a money limit applies: its worst case cannot be shown to fit
    NOT_PINNED = "not_pinned"  # another model was pinned with -m
    SECRET = "secret"  # a remote model, and the prompt holds a secret (routing/secrets.py) not allowed out


BUDGET = frozenset({Why.REQUEST_BUDGET, Why.DAY_BUDGET, Why.MONTH_BUDGET})
SIZE = frozenset({Why.WINDOW, Why.ESCALATION_WINDOW})
MONEY = BUDGET | {Why.UNPRICED}  # a pinned model refused for these alone is refused by budget (exit 6)


@frozen
class Exclusion:
    kind: Why
    text: str  # what a person reads: "no API key (set ANTHROPIC_API_KEY)"


def only(reasons: tuple[Exclusion, ...], kinds: frozenset[Why]) -> bool:
    """True when there is at least one reason and every one is of these kinds."""
    return bool(reasons) and all(r.kind in kinds for r in reasons)


def describe(reasons: tuple[Exclusion, ...], eligible_text: str = "eligible") -> str:
    """The one line a table or an error shows for a verdict."""
    return "; ".join(r.text for r in reasons) if reasons else eligible_text
