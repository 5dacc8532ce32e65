"""What a faithful `route replay` needs of each attempt, stored beside it (schema v5): the decision's inputs.

The ledger only stores them; `run/record.py` fills them from the plan, and `run/replay.py` re-decides from them.
"""

from __future__ import annotations

import json
from dataclasses import field
from typing import Any

from routecli.values import frozen

FACT_COLUMNS = ("complexity", "decision_tokens", "input_bytes", "flags", "policy_hash")
FACT_MIGRATION = [
    "ALTER TABLE attempts ADD COLUMN complexity INTEGER",  # the level 1-10 the decision used
    "ALTER TABLE attempts ADD COLUMN decision_tokens INTEGER",  # the prompt's token count the decision used
    "ALTER TABLE attempts ADD COLUMN input_bytes INTEGER",  # the prompt's size as sent, in UTF-8 bytes
    "ALTER TABLE attempts ADD COLUMN flags TEXT",  # JSON: the options that shaped the decision
    "ALTER TABLE attempts ADD COLUMN policy_hash TEXT",  # which policy decided (policy/fingerprint.py)
]


@frozen
class DecisionFacts:
    complexity: int
    tokens: int
    input_bytes: int
    policy_hash: str
    flags: dict[str, Any] = field(default_factory=dict)  # only the options that were set

    def values(self) -> tuple[Any, ...]:
        flags = json.dumps(self.flags, sort_keys=True, separators=(",", ":"))
        return (self.complexity, self.tokens, self.input_bytes, flags, self.policy_hash)

    @staticmethod
    def values_of(facts: DecisionFacts | None) -> tuple[Any, ...]:
        return facts.values() if facts is not None else (None,) * len(FACT_COLUMNS)
