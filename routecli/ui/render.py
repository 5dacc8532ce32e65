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
from routecli.ui import secrets_view
from routecli.ui.fit import GAP, keep_columns, width_of, wrap
from routecli.ui.streams import say


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
        "secrets": secrets_view.as_dict(decision),
    }


def print_json(data: Any, file: TextIO | None = None) -> None:
    out = file or sys.stdout
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    out.flush()


def tokens_text(decision: Decision) -> str:
    t = decision.tokens
    if t.is_exact:
        return f"{t.value:,} (exact, cl100k_base)"
    if t.sampled is not None:
        return f"~{t.value:,} (estimated from samples of the input, within ~15%; between {t.lower:,} and {t.upper:,})"
    return f"~{t.value:,} (estimate; between {t.lower:,} and {t.upper:,}, no threshold depends on the exact count)"


LABEL = 12  # the width of explain's labels ("Task", "Complexity", ...): wrapped text continues under the value

# The explain table's columns, and the order they go when the terminal is narrow: the model, its cost and its
# verdict (the reason) always stay; the verdict wraps.
EXPLAIN_HEADER = ["  model", "provider", "id", "role", "tier", "window", "est. cost", "verdict"]
EXPLAIN_DROP = (2, 5, 1, 3, 4)  # id, window, provider, role, tier
VERDICT_MIN = 28


def _columns(rows: list[list[str]], header: list[str], width: int | None = None) -> list[str]:
    """Plain aligned columns: Rich's table costs ~25 ms to import and draw, a tenth of `route explain`.
    Under a `width`, columns are dropped (EXPLAIN_DROP) and the last one wraps under itself."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    kept = keep_columns(widths, EXPLAIN_DROP, width, VERDICT_MIN)
    lead = sum(widths[i] + GAP for i in kept[:-1])
    room = None if width is None else max(width - lead, VERDICT_MIN)
    lines = []
    for row in [header, *rows]:
        head = "".join(str(row[i]).ljust(widths[i] + GAP) for i in kept[:-1])
        parts = wrap(str(row[kept[-1]]), room, 0)
        lines.append((head + parts[0]).rstrip())
        lines += [(" " * lead + part).rstrip() for part in parts[1:]]
    return lines


def _paint(text: str, code: str, enabled: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if enabled else text


def explain_report(decision: Decision, no_color: bool = False) -> None:
    out = sys.stdout
    color = not no_color and not os.environ.get("NO_COLOR") and out.isatty()
    width = width_of(out)
    labelled: list[tuple[str, str]] = [("Task", decision.task + ("  (forced)" if decision.task_forced else ""))]
    labelled += [("", line) for line in decision.evidence]
    c = decision.complexity
    labelled.append(("Complexity", f"{c.level}/10 → required tier {decision.required_tier}  ({', '.join(c.evidence)})"))
    labelled.append(("Tokens", tokens_text(decision)))
    labelled.append(("Profile", decision.profile))
    labelled += [("Escalation", line) for line in decision.escalation]
    labelled += [("Secrets" if i == 0 else "", line) for i, line in enumerate(secrets_view.report_lines(decision))]
    clean = _cleaner(out)  # prompt snippets, file names and model ids may hold escape sequences
    lines = _labelled([(label, clean(text)) for label, text in labelled], width, color)
    rows = []
    for v in decision.candidates:
        mark = "✓" if v.eligible else "✗"
        chosen = "→ " if v.alias == decision.chosen else "  "
        rows.append([clean(cell) for cell in (chosen + v.alias, v.provider, v.model_id, v.role, str(v.tier),
                                              f"{v.context:,}", money(v.estimated_cost), f"{mark} {v.why}")])
    from routecli.ui.policy_view import masked

    table = _columns([[masked(cell) for cell in row] for row in rows], EXPLAIN_HEADER, width)  # masked, then cut
    if color:  # painted after fitting: escape codes take no room on the screen
        table = [line.replace("✓", _paint("✓", "32", True)).replace("✗", _paint("✗", "31", True)) for line in table]
    lines += ["", *table, ""]
    validation = "yes (the reply is checked before it is accepted)" if decision.validate else "no"
    lines += _labelled(
        [
            ("Chosen", decision.chosen or "none"),
            ("Why", clean(decision.reason)),
            ("Chain", " → ".join(decision.chain) or "-"),
            ("Validation", validation),
            *[("Budget", clean(note)) for note in decision.budget_notes],
        ],
        width,
        color,
    )
    out.write(masked("\n".join(lines)) + "\n")
    out.flush()


def _cleaner(out: TextIO) -> Any:
    """for_terminal on a terminal (no escape sequence from a prompt or a file name reaches it); else as it is."""
    from routecli.ui.terminal_text import shown_on

    return lambda text: shown_on(out, text)


def _labelled(items: list[tuple[str, str]], width: int | None, color: bool) -> list[str]:
    """`Label       value` lines, the value wrapped under itself to fit `width`; the label painted bold.
    Masked before it is wrapped: a key cut in two would no longer be recognised."""
    from routecli.ui.policy_view import masked

    lines = []
    for label, value in items:
        wrapped = wrap(" " * LABEL + masked(value), width, LABEL)
        first = wrapped[0][LABEL:]
        lines.append((_paint(label, "1", color) + " " * (LABEL - len(label)) if label else " " * LABEL) + first)
        lines += wrapped[1:]
    return lines


# `route models` drops these first on a narrow terminal (max out, cached price, id, speed, window, provider, tier):
# the alias, its prices and whether its key is set stay.
MODELS_HEADER = ("model", "provider", "id", "tier", "speed", "window", "max out", "$/M in", "$/M out", "$/M cached",
                 "key")
MODELS_DROP = (6, 9, 2, 4, 5, 1, 3)


def models_report(
    policy: Policy, prices: PriceTable, keys: dict[str, bool], local: frozenset[str], no_color: bool = False
) -> None:
    from rich.table import Table

    from routecli.ui.policy_view import masked

    out = console(sys.stdout, no_color)
    rows: list[tuple[list[str], str]] = []  # the plain cells (to measure), and the key cell with its colour
    for alias, model in policy.models.items():
        provider = policy.providers[model.provider]
        price = prices.get(alias)
        if provider.local:
            key = painted = "local" + (" (on)" if provider.name in local else "")
        elif keys.get(provider.name):
            key, painted = provider.key_env or "", f"[green]{provider.key_env}[/]"
        else:
            key = f"no {provider.key_env}"
            painted = f"[red]{key}[/]"
        cells = [
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
        ]
        rows.append((cells, painted))
    widths = [max(len(cells[i]) for cells in [list(MODELS_HEADER), *(r for r, _ in rows)]) for i in range(11)]
    kept = keep_columns(widths, MODELS_DROP, out.width)
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for index in kept:
        table.add_column(MODELS_HEADER[index], no_wrap=True)
    for cells, painted in rows:
        table.add_row(*(painted if i == len(cells) - 1 else cells[i] for i in kept))
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

    for line in masked(message).splitlines() or [""]:  # several policy problems: one line each
        say(f"route: error: {line}\n")


def notice(message: str) -> None:
    from routecli.ui.policy_view import masked

    say(f"route: {masked(message)}\n")


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


def usage_line(outcome: Any, elapsed_s: float | None = None) -> str:
    """One line after the reply: the final call (model, tokens, time) and, when the reply took more than one
    call (retries, fallbacks, map-reduce chunks), the totals of every call apart: calls, tokens, cost, time."""
    final = outcome.final
    if final is None:
        return "route: no reply"
    tokens = _tokens(final.input_tokens, final.output_tokens)
    if final.cached_input_tokens:
        tokens += f" ({final.cached_input_tokens:,} cached)"
    if final.usage_estimated:
        tokens += " (estimated)"
    total = outcome.cost_usd
    cost = money(total, 6) if total is not None else "unpriced"
    took = f" · {_seconds(final.total_s)}" if final.total_s is not None else ""
    stopped = f" · stopped at --max-tokens {final.max_tokens:,}" if final.stop_reason == "max_tokens" else ""
    attempts = outcome.attempts
    if len(attempts) <= 1:
        return f"route: {final.alias} · {tokens} · {cost}{took}{stopped}"
    final_cost = money(final.cost_usd, 6) if final.cost_usd is not None else "unpriced"
    all_tokens = _tokens(sum(a.input_tokens or 0 for a in attempts), sum(a.output_tokens or 0 for a in attempts))
    wall = f" · {_seconds(elapsed_s)}" if elapsed_s is not None else ""
    return (
        f"route: {final.alias} (final call) · {tokens} · {final_cost}{took}{stopped}; "
        f"all {len(attempts)} calls: {all_tokens} · {cost}{wall}"
    )


def _tokens(tokens_in: int | None, tokens_out: int | None) -> str:
    return f"{tokens_in or 0:,} in / {tokens_out or 0:,} out"


def _seconds(value: float) -> str:
    """A fast call is not "0.0s": under a tenth of a second it is shown in milliseconds."""
    return f"{value:.1f}s" if value >= 0.1 else f"{value * 1000:.0f}ms"


def mapreduce_report(plan: Any) -> None:
    """The map-reduce plan under `route explain`: what will be called, how often, for how much."""
    data = plan.as_dict()
    levels = ", then ".join(f"{lv['calls']} call(s) combining {lv['inputs']}" for lv in data["reduce_levels"])
    lines = [
        "",
        "Plan        map-reduce: no single call takes the input within the window and the cap",
        f"            map: {data['chunks']} chunks of up to ~{data['chunk_tokens_max']:,} tokens → "
        f"{data['map_model']} ({data['concurrency']} at a time; fallbacks: {' → '.join(data['map_chain'][1:]) or '-'})",
        f"            reduce: {levels}; final call by {data['reduce_model']}",
        f"            {data['calls']} calls, estimated {money(_dec(data['estimated_cost_usd']))}, "
        f"worst case {money(_dec(data['worst_case_cost_usd']))} (each call by the dearest model of its chain)"
        + (f"; the run stops before crossing {money(_dec(data['cap_usd']))} ({data['cap']})" if data["cap"] else ""),
        f"Budget      {data['budget']}"
        + (f" (map calls downgraded to {data['downgraded_to']})" if data["downgraded_to"] else ""),
    ]
    width = width_of(sys.stdout)
    sys.stdout.write("\n".join(part for line in lines for part in wrap(line, width, LABEL)) + "\n")


def side_calls_report(plan: Any) -> None:
    """Under `route explain`: the reviewer of a validated task and the model classifier, when the plan has them."""
    lines = []
    consult = plan.consult
    if consult is not None:
        unsure = f"learned confidence {consult.confidence:.2f} < {consult.below:g}"
        if consult.answer is None:
            lines.append(f"Classifier  would consult {consult.alias} ({unsure})")
        else:
            cached = "cached answer" if consult.answer.cached else "answered"
            lines.append(f"Classifier  {consult.alias}: {consult.answer.task} ({cached}; {unsure})")
    review = plan.review
    if review is not None:
        if review.over_budget is not None:
            lines.append(f"Review      not made: {review.over_budget}")
        elif review.reviewer.alias is None:
            lines.append(f"Review      unavailable: {review.reviewer.why}; the reply would not be reviewed")
        else:
            settings = review.settings
            escalate = f", escalate to {settings.escalate_to}" if settings.on_concerns == "escalate" else ""
            lines.append(
                f"Review      {review.reviewer.alias} ({review.reviewer.why}); on concerns: "
                f"{review.settings.on_concerns}{escalate}; worst case {money(review.worst_case_cost)}"
            )
        lines.append(f"Worst case  {money(plan.worst_case_cost)} (the reply and its review)")
    if lines:
        width = width_of(sys.stdout)
        sys.stdout.write("\n".join(part for line in lines for part in wrap(line, width, LABEL)) + "\n")


def single_plan_report(data: dict[str, Any]) -> None:
    """The money of a one-call plan under `route explain`: the worst case and the cap the run stops before."""
    line = f"Worst case  {money(_dec(data['worst_case_cost_usd']))} (the dearest model of the chain, whole output)"
    if data["cap"]:
        line += f"; retries and fallbacks stop before crossing {money(_dec(data['cap_usd']))} ({data['cap']})"
    sys.stdout.write("\n".join(wrap(line, width_of(sys.stdout), LABEL)) + "\n")


def _dec(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))
