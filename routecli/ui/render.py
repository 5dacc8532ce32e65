"""Everything the terminal shows: reports on stdout, panels and notices on stderr.

Decides nothing: every function renders objects built elsewhere. Rich is imported inside the functions
so that `--json` output never pays for it.
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from typing import Any, TextIO

from routecli.policy.prices import PriceTable, money
from routecli.policy.types import Policy
from routecli.routing.decide import Decision, Verdict


def console(file: TextIO, no_color: bool = False) -> Any:
    from rich.console import Console

    is_terminal = hasattr(file, "isatty") and file.isatty()
    return Console(
        file=file,
        no_color=no_color or bool(os.environ.get("NO_COLOR")),
        highlight=False,
        soft_wrap=False,
        # A report piped to a file or `less` should not be folded at 80 columns.
        width=None if is_terminal or os.environ.get("COLUMNS") else 160,
    )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def decision_dict(decision: Decision) -> dict[str, Any]:
    """The stable JSON shape of `route explain --json` (more keys may be added, none removed)."""

    def verdict(v: Verdict) -> dict[str, Any]:
        return {
            "alias": v.alias,
            "provider": v.provider,
            "model_id": v.model_id,
            "role": v.role,
            "tier": v.tier,
            "speed": v.speed,
            "context_window": v.context,
            "eligible": v.eligible,
            "why": v.why,
            "estimated_cost_usd": _float(v.estimated_cost),
            "worst_case_cost_usd": _float(v.worst_case_cost),
        }

    chosen = decision.verdict(decision.chosen) if decision.chosen else None
    return {
        "task": decision.task,
        "evidence": list(decision.evidence),
        "task_forced": decision.task_forced,
        "complexity": decision.complexity.level,
        "complexity_evidence": list(decision.complexity.evidence),
        "required_tier": decision.required_tier,
        "tokens": decision.tokens.value,
        "tokens_exact": decision.tokens.is_exact,
        "tokens_bounds": [decision.tokens.lower, decision.tokens.upper],
        "profile": decision.profile,
        "escalation": list(decision.escalation),
        "chosen": None
        if chosen is None
        else {
            "alias": chosen.alias,
            "provider": chosen.provider,
            "model_id": chosen.model_id,
            "estimated_cost_usd": _float(chosen.estimated_cost),
        },
        "reason": decision.reason,
        "chain": list(decision.chain),
        "validate": decision.validate,
        "budget": list(decision.budget_notes),
        "candidates": [verdict(v) for v in decision.candidates],
    }


def print_json(data: Any, file: TextIO | None = None) -> None:
    out = file or sys.stdout
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    out.flush()


def tokens_text(decision: Decision) -> str:
    t = decision.tokens
    if t.is_exact:
        return f"{t.value:,} (exact, cl100k_base)"
    return f"~{t.value:,} (estimate; between {t.lower:,} and {t.upper:,}, no threshold depends on the exact count)"


def _columns(rows: list[list[str]], header: list[str]) -> list[str]:
    """Plain aligned columns: Rich's table costs ~25 ms to import and draw, a tenth of `route explain`."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def _paint(text: str, code: str, enabled: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if enabled else text


def explain_report(decision: Decision, no_color: bool = False) -> None:
    out = sys.stdout
    color = not no_color and not os.environ.get("NO_COLOR") and out.isatty()
    bold = lambda text: _paint(text, "1", color)  # noqa: E731
    lines = [f"{bold('Task')}        {decision.task}" + ("  (forced)" if decision.task_forced else "")]
    lines += [f"            {line}" for line in decision.evidence]
    c = decision.complexity
    tier = f"required tier {decision.required_tier}"
    lines.append(f"{bold('Complexity')}  {c.level}/10 → {tier}  ({', '.join(c.evidence)})")
    lines.append(f"{bold('Tokens')}      {tokens_text(decision)}")
    lines.append(f"{bold('Profile')}     {decision.profile}")
    lines += [f"{bold('Escalation')}  {line}" for line in decision.escalation]
    rows = []
    for v in decision.candidates:
        mark = _paint("✓", "32", color) if v.eligible else _paint("✗", "31", color)
        chosen = "→ " if v.alias == decision.chosen else "  "
        rows.append([chosen + v.alias, v.provider, v.model_id, v.role, str(v.tier), f"{v.context:,}",
                     money(v.estimated_cost), f"{mark} {v.why}"])
    header = ["  model", "provider", "id", "role", "tier", "window", "est. cost", "verdict"]
    lines += ["", *_columns(rows, header), ""]
    lines.append(f"{bold('Chosen')}      {decision.chosen or 'none'}")
    lines.append(f"{bold('Why')}         {decision.reason}")
    lines.append(f"{bold('Chain')}       {' → '.join(decision.chain) or '-'}")
    validation = "yes (the reply is checked before it is accepted)" if decision.validate else "no"
    lines.append(f"{bold('Validation')}  {validation}")
    lines += [f"{bold('Budget')}      {note}" for note in decision.budget_notes]
    from routecli.ui.policy_view import masked

    out.write(masked("\n".join(lines)) + "\n")
    out.flush()


def models_report(
    policy: Policy, prices: PriceTable, keys: dict[str, bool], local: frozenset[str], no_color: bool = False
) -> None:
    from rich.table import Table

    from routecli.ui.policy_view import masked

    out = console(sys.stdout, no_color)
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for name in (
        "model",
        "provider",
        "id",
        "tier",
        "speed",
        "window",
        "max out",
        "$/M in",
        "$/M out",
        "$/M cached",
        "key",
    ):
        table.add_column(name, no_wrap=True)
    for alias, model in policy.models.items():
        provider = policy.providers[model.provider]
        price = prices.get(alias)
        if provider.local:
            key = "local" + (" (on)" if provider.name in local else "")
        else:
            key = f"[green]{provider.key_env}[/]" if keys.get(provider.name) else f"[red]no {provider.key_env}[/]"
        table.add_row(
            masked(alias, policy),
            model.provider,
            masked(model.model_id, policy),
            str(model.tier),
            model.speed,
            f"{model.context:,}",
            f"{model.max_output:,}",
            "unpriced" if price is None else f"{price.input}",
            "" if price is None else f"{price.output}",
            "" if price is None or price.cached_input is None else f"{price.cached_input}",
            key,
        )
    out.print(table)
    sources = sorted({p.source for p in prices.values() if p is not None})
    out.print(f"[dim]prices per million tokens, from {', '.join(sources)}[/]")


def models_dict(
    policy: Policy, prices: PriceTable, keys: dict[str, bool], local: frozenset[str]
) -> list[dict[str, Any]]:
    rows = []
    for alias, model in policy.models.items():
        provider = policy.providers[model.provider]
        price = prices.get(alias)
        rows.append(
            {
                "alias": alias,
                "provider": model.provider,
                "model_id": model.model_id,
                "tier": model.tier,
                "speed": model.speed,
                "context_window": model.context,
                "max_output": model.max_output,
                "strengths": list(model.strengths),
                "price_per_mtok": None
                if price is None
                else {
                    "input": float(price.input),
                    "output": float(price.output),
                    "cached_input": _float(price.cached_input),
                    "source": price.source,
                },
                "key_present": (provider.name in local) if provider.local else keys.get(provider.name, False),
                "local": provider.local,
            }
        )
    return rows


def error_line(message: str) -> None:
    from routecli.ui.policy_view import masked

    sys.stderr.write(f"route: error: {masked(message)}\n")
    sys.stderr.flush()


def notice(message: str) -> None:
    from routecli.ui.policy_view import masked

    sys.stderr.write(f"route: {masked(message)}\n")
    sys.stderr.flush()


def show_panel(decision: Decision, no_color: bool = False) -> None:
    """The chosen model, the reason and the estimated cost, on stderr, before the reply streams."""
    from rich.panel import Panel

    chosen = decision.verdict(decision.chosen) if decision.chosen else None
    if chosen is None:
        return
    fallbacks = " → ".join(decision.chain[1:]) or "none"
    body = (
        f"[bold]{chosen.alias}[/] ({chosen.provider} {chosen.model_id}) · task {decision.task}"
        f" · ~{decision.tokens.value:,} tokens in · est. {money(chosen.estimated_cost)}\n"
        f"{decision.reason}\n[dim]fallbacks: {fallbacks}"
        + (" · reply validated before it is shown" if decision.validate else "")
        + "[/]"
    )
    console(sys.stderr, no_color).print(Panel(body, title="route", title_align="left", expand=False))


def usage_line(outcome: Any) -> str:
    """One line after the reply: model, tokens, cost, time, and how many attempts it took."""
    final = outcome.final
    if final is None:
        return "route: no reply"
    tokens = f"{final.input_tokens or 0:,} in / {final.output_tokens or 0:,} out"
    if final.cached_input_tokens:
        tokens += f" ({final.cached_input_tokens:,} cached)"
    if final.usage_estimated:
        tokens += " (estimated)"
    total = outcome.cost_usd
    cost = money(total, 6) if total is not None else "unpriced"
    extra = f" · {len(outcome.attempts)} attempts" if len(outcome.attempts) > 1 else ""
    took = f" · {final.total_s:.1f}s" if final.total_s is not None else ""
    stopped = f" · stopped at --max-tokens {final.max_tokens:,}" if final.stop_reason == "max_tokens" else ""
    return f"route: {final.alias} · {tokens} · {cost}{took}{extra}{stopped}"


def mapreduce_report(plan: Any) -> None:
    """The map-reduce plan under `route explain`: what will be called, how often, for how much."""
    data = plan.as_dict()
    levels = ", then ".join(f"{lv['calls']} call(s) combining {lv['inputs']}" for lv in data["reduce_levels"])
    lines = [
        "",
        "Plan        map-reduce: the input fits no single window",
        f"            map: {data['chunks']} chunks of up to ~{data['chunk_tokens_max']:,} tokens → "
        f"{data['map_model']} ({data['concurrency']} at a time; fallbacks: {' → '.join(data['map_chain'][1:]) or '-'})",
        f"            reduce: {levels}; final call by {data['reduce_model']}",
        f"            {data['calls']} calls, estimated {money(_dec(data['estimated_cost_usd']))}, "
        f"worst case {money(_dec(data['worst_case_cost_usd']))}",
        f"Budget      {data['budget']}"
        + (f" (map calls downgraded to {data['downgraded_to']})" if data["downgraded_to"] else ""),
    ]
    sys.stdout.write("\n".join(lines) + "\n")


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))
