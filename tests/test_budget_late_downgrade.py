"""A budget found spent only as an attempt is written ahead (other runs' calls landed after this run read the spend):
under `on_exceed: downgrade` route moves to what the planner's downgrade would have chosen with that spend known (a
cheaper model of the chain, or a free local one), and refuses (exit 6) only when none fits; `refuse` refuses."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from conftest import provider_env
from fakeprovider import Reply
from test_budget_race import _row, _rows

from routecli.ledger.store import Ledger

# "hello there!" -C 5 --max-tokens 200 (the default policy): chat at tier 2, claude-haiku, then mistral-medium, then
# the fallback mistral-small. Worst cases: claude-haiku $0.0001003, mistral-medium $0.0015045, mistral-small
# $0.00012045; the local model (tier 1) is free.
ASK = ("ask", "hello there!", "-C", "5", "--max-tokens", "200")
# After claude-haiku's call (in flight at its worst case), this leaves $0.0004997 of $1.00: mistral-small fits,
# mistral-medium does not.
ROOM_FOR_SMALL = "0.9994"


def spent_after_reading(monkeypatch, home: Path, cost: str) -> None:
    """Another run's call (in flight, `cost`) lands in the ledger right after this run read the spend
    (run/state.py), so the plan does not know it: only the check as each attempt is written ahead sees it."""
    from routecli.run import state

    read_world = state.read_world

    def read_then_another_run(*args, **kwargs):
        world = read_world(*args, **kwargs)
        (home / "data").mkdir(parents=True, exist_ok=True)
        with Ledger(home / "data" / "ledger.sqlite3") as ledger:
            ledger.write([_row("another-run", cost)])
        return world

    monkeypatch.setattr(state, "read_world", read_then_another_run)


def _budget(tmp_path: Path, on_exceed: str) -> str:
    policy = tmp_path / "budget.yaml"
    policy.write_text(f"budgets:\n  per_day: 1.00\n  on_exceed: {on_exceed}\n", encoding="utf-8")
    return str(policy)


def _keys(fake, local: bool = False) -> dict[str, str]:
    """Anthropic's and Mistral's keys (and the local server's URL): the chain is claude-haiku, mistral-medium,
    mistral-small."""
    wanted = ("ANTHROPIC_", "MISTRAL_", "OLLAMA_") if local else ("ANTHROPIC_", "MISTRAL_")
    return {k: v for k, v in provider_env(fake, local=local).items() if k.startswith(wanted)}


def test_a_fallback_refused_at_write_ahead_downgrades_to_the_cheaper_model_that_fits(
    route, fake_provider, home, tmp_path, monkeypatch
):
    spent_after_reading(monkeypatch, home, ROOM_FOR_SMALL)
    fake_provider.script("anthropic", Reply(text=""))  # an empty reply: the chain moves on to mistral-medium
    fake_provider.script("mistral", Reply(text="hi from small"))
    result = route(*ASK, "--policy", _budget(tmp_path, "downgrade"), env=_keys(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi from small\n"
    assert (
        "mistral-medium refused by the daily budget of $1.00: $0 spent, $1.00 in calls still in flight, and this "
        "call may cost $0.0015; downgraded to mistral-small to stay within budget"
    ) in result.stderr
    (sent,) = fake_provider.requests_for("mistral")  # mistral-medium was never sent
    assert sent.body["model"] == "mistral-small-latest"
    assert [(alias, status) for alias, status, _ in _rows(home)] == [
        ("claude-haiku", "in_flight"), ("claude-haiku", "validation_failed"), ("mistral-small", "ok"),
    ]  # the first row is the other run's


def test_the_first_model_refused_downgrades_to_a_free_local_model(route, fake_provider, home, tmp_path, monkeypatch):
    spent_after_reading(monkeypatch, home, "1.00")  # nothing is left: only a free model fits
    fake_provider.script("ollama", Reply(text="hi from local"))
    result = route(*ASK, "--policy", _budget(tmp_path, "downgrade"), env=_keys(fake_provider, local=True))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi from local\n"
    assert "claude-haiku refused by the daily budget of $1.00" in result.stderr
    assert "downgraded to local to stay within budget" in result.stderr
    assert not fake_provider.requests_for("anthropic") and not fake_provider.requests_for("mistral")
    assert [(alias, status) for alias, status, _ in _rows(home)][-1] == ("local", "ok")


def test_no_model_that_fits_what_is_left_is_exit_6(route, fake_provider, home, tmp_path, monkeypatch):
    spent_after_reading(monkeypatch, home, "0.9998")  # after claude-haiku: $0.0000997, under every worst case
    fake_provider.script("anthropic", Reply(text=""))
    result = route(*ASK, "--policy", _budget(tmp_path, "downgrade"), env=_keys(fake_provider))
    assert result.returncode == 6, result.stderr
    assert result.stdout == ""
    assert "route: error: refused by the daily budget of $1.00" in result.stderr
    assert result.stderr.rstrip().endswith("; no cheaper model fits")
    assert not fake_provider.requests_for("mistral")


def test_refuse_keeps_exit_6_when_a_cheaper_model_would_fit(route, fake_provider, home, tmp_path, monkeypatch):
    spent_after_reading(monkeypatch, home, ROOM_FOR_SMALL)
    fake_provider.script("anthropic", Reply(text=""))
    result = route(*ASK, "--policy", _budget(tmp_path, "refuse"), env=_keys(fake_provider))
    assert result.returncode == 6, result.stderr
    assert "refused by the daily budget of $1.00" in result.stderr and "downgraded" not in result.stderr
    assert "no cheaper model fits" not in result.stderr
    assert not fake_provider.requests_for("mistral")


def test_a_pinned_model_is_not_downgraded(route, fake_provider, home, tmp_path, monkeypatch):
    """As when the budget is known short before the run: -m names the model, a cheaper one is not it."""
    spent_after_reading(monkeypatch, home, "1.00")
    result = route(*ASK, "-m", "mistral-medium", "--policy", _budget(tmp_path, "downgrade"),
                   env=_keys(fake_provider, local=True))
    assert result.returncode == 6, result.stderr
    assert "no cheaper model fits" in result.stderr
    assert not fake_provider.requests


def test_the_refused_calls_reservation_under_the_runs_cap_is_released(
    route, fake_provider, home, tmp_path, monkeypatch
):
    """--max-cost 0.0016 holds claude-haiku's call, then mistral-medium's worst case ($0.0015045), but not that and
    mistral-small's ($0.00012045) together: the refused call reserved nothing, so mistral-small fits the cap."""
    spent_after_reading(monkeypatch, home, ROOM_FOR_SMALL)
    fake_provider.script("anthropic", Reply(text=""))
    fake_provider.script("mistral", Reply(text="hi from small"))
    result = route(*ASK, "--max-cost", "0.0016", "--policy", _budget(tmp_path, "downgrade"), env=_keys(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi from small\n"


def test_an_escalation_refused_at_write_ahead_is_not_downgraded(route, fake_provider, home, tmp_path):
    """Escalation asks one named, stronger model: when the budget no longer holds it, no cheaper model stands in.
    The first reply is printed with its concerns, and the escalation's failure says why (exit 7)."""
    from test_review import ANSWER, CONCERNS, ESCALATE, SAFETY

    policy = tmp_path / "p.yaml"
    policy.write_text(ESCALATE + "budgets:\n  per_day: 1.00\n  on_exceed: downgrade\n", encoding="utf-8")
    reviewed = threading.Event()
    fake_provider.script("anthropic", Reply(text=ANSWER))
    fake_provider.script("openai", Reply(text=CONCERNS, hold=reviewed))

    def another_run() -> None:  # while gpt reviews: about $0.02 is left, under claude-opus's worst case
        deadline = time.monotonic() + 60
        while not fake_provider.requests_for("openai") and time.monotonic() < deadline:
            time.sleep(0.02)
        with Ledger(home / "data" / "ledger.sqlite3") as ledger:
            ledger.write([_row("another-run", "0.93")])
        reviewed.set()

    hook = threading.Thread(target=another_run, daemon=True)
    hook.start()
    keys = {k: v for k, v in provider_env(fake_provider).items() if k.startswith(("ANTHROPIC_", "OPENAI_", "MISTRAL_"))}
    result = route("ask", SAFETY, "--policy", str(policy), env=keys)
    hook.join(timeout=60)
    assert result.returncode == 7, result.stderr
    assert result.stdout == ANSWER + "\n"
    assert "escalation to claude-opus after review concerns failed: refused by the daily budget of $1.00" in (
        result.stderr)
    assert "downgraded" not in result.stderr and not fake_provider.requests_for("mistral")
    assert [r.body["model"] for r in fake_provider.requests_for("anthropic")] == ["claude-sonnet-5-5"]
