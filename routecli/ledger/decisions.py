"""What the ledger remembers of past decisions, for `route stats` to replay them under a changed policy.

Each request's first attempt (chain position 0, first try) carries its task, profile, complexity level and input
tokens: enough to run the pure decision again, with no call made. Beside them, how each model did when it was the
first choice, since advice to send more requests to a model rests on how it did when it was chosen, not on how
it did as a fallback after another model had failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from routecli.ledger.store import Ledger
from routecli.values import frozen


@frozen
class RecordedRequest:
    task: str
    profile: str | None
    complexity: int
    tokens: int  # the input tokens the provider reported (0 when it reported none)
    alias: str  # the model that was chosen


@dataclass
class FirstChoice:
    """A model's attempts as the chosen model (chain position 0), interrupted ones left out."""

    calls: int = 0
    ok: int = 0
    total_s: list[float] = field(default_factory=list)  # of the successful ones

    @property
    def success_rate(self) -> float:
        return self.ok / self.calls if self.calls else 0.0


@dataclass
class DecisionHistory:
    requests: list[RecordedRequest] = field(default_factory=list)  # oldest first
    first_choice: dict[str, FirstChoice] = field(default_factory=dict)
    providers: set[str] = field(default_factory=set)  # every provider that was called: its key was there


def decision_history(ledger_path: Path, since: float | None) -> DecisionHistory:
    history = DecisionHistory()
    if not ledger_path.exists():
        return history
    with Ledger(ledger_path, readonly=True) as ledger:
        columns = {row[1] for row in ledger.query("PRAGMA table_info(attempts)")}
        complexity = "complexity" if "complexity" in columns else "NULL"  # an older ledger opened read-only
        stage = "stage" if "stage" in columns else "NULL"
        rows = ledger.query(
            f"SELECT alias, provider, status, total_s, try_number, task, profile, {complexity}, input_tokens, "
            f"{stage} FROM attempts WHERE chain_position = 0 AND ts >= ? ORDER BY ts",
            (since or 0.0,),
        )
        history.providers = {row[0] for row in ledger.query("SELECT DISTINCT provider FROM attempts")}
    for alias, _provider, status, total_s, try_number, task, profile, level, tokens, stage_name in rows:
        if status != "interrupted":
            mine = history.first_choice.setdefault(alias, FirstChoice())
            mine.calls += 1
            if status == "ok":
                mine.ok += 1
                if total_s is not None:
                    mine.total_s.append(float(total_s))
        if try_number == 0 and task and level is not None and stage_name is None:  # map-reduce calls: not one
            history.requests.append(RecordedRequest(task, profile, int(level), int(tokens or 0), alias))
    return history
