"""What `route costs` and `route stats` report, computed from the ledger. No terminal output here.

Sums run in SQL over integer nano-dollars, from the ledger's per-day rollup wherever a day lies wholly in
the range (see Ledger.aggregate), so a million rows take a few milliseconds. Savings price
the recorded usage of every successful call at another model's rates (with its tiers) and compare that
with everything actually spent, failed attempts included: routing overheads count against the saving.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from routecli.errors import UsageError
from routecli.ledger.pending_files import pending_rows
from routecli.ledger.store import NANO, Ledger
from routecli.ledger.target import LedgerTarget
from routecli.ledger.writeahead import IN_FLIGHT
from routecli.policy.prices import MILLION, Price

GROUPS = {
    "day": "day",
    "model": "alias",
    "provider": "provider",
    "task": "task",
    "profile": "profile",
    "status": "status",
    "command": "command",
    "user": "user_name",
    "host": "host",
    "tag": "tag",
}

_RELATIVE = re.compile(r"^(\d+)\s*(h|d|w|m)$")


def parse_when(text: str, end: bool = False, now: float | None = None) -> float:
    """'7d', '24h', '2w', '1m' (30 days) ago; 'today', 'yesterday'; or an ISO date / date-time.
    A bare date used as an end (`--until 2026-11-20`) includes that whole day."""
    now = time.time() if now is None else now
    text = text.strip().lower()
    match = _RELATIVE.match(text)
    if match:
        count, unit = int(match.group(1)), match.group(2)
        hours = {"h": 1, "d": 24, "w": 24 * 7, "m": 24 * 30}[unit]
        return now - count * hours * 3600
    midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if text in ("today", "yesterday"):
        day = midnight - timedelta(days=1 if text == "yesterday" else 0)
        return (day + timedelta(days=1)).timestamp() if end else day.timestamp()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"cannot read the date '{text}' (use e.g. 7d, 24h, 2w, today, 2026-11-01)") from None
    if end and len(text) <= 10:  # a date without a time: the end of that day
        moment += timedelta(days=1)
    return moment.timestamp()


def parse_range(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    """--since and --until as times; an end before its start is a mistake to say, not an empty report."""
    start = parse_when(since) if since else None
    end = parse_when(until, end=True) if until else None
    if start is not None and end is not None and end <= start:
        raise UsageError(f"--until {until} is not after --since {since}: nothing could be in that period")
    return start, end


@dataclass
class Totals:
    calls: int = 0
    failed: int = 0
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cost_nano: int = 0
    unpriced: int = 0

    @property
    def cost(self) -> Decimal:
        return Decimal(self.cost_nano) / NANO

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "failed": self.failed,
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cost_usd": float(self.cost),
            "unpriced_calls": self.unpriced,
        }


@dataclass
class Savings:
    """What the recorded usage would have cost at `vs`'s rates, against what it cost. Calls of a model with no
    known price cost an unknown amount, not $0: they are left out of both sides (`left_out` of them)."""

    vs: str
    baseline: Decimal
    actual: Decimal
    left_out: int = 0  # successful calls of unknown cost, compared on neither side

    @property
    def saved(self) -> Decimal:
        return self.baseline - self.actual

    @property
    def fraction(self) -> float:
        return float(self.saved / self.baseline) if self.baseline else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "vs": self.vs,
            "baseline_cost_usd": float(self.baseline),
            "actual_cost_usd": float(self.actual),
            "saved_usd": float(self.saved),
            "saved_fraction": round(self.fraction, 6),
            "unpriced_calls_left_out": self.left_out,
        }


@dataclass
class CostReport:
    by: list[str]
    since: float | None
    until: float | None
    total: Totals
    groups: list[tuple[dict[str, Any], Totals]] = field(default_factory=list)
    savings: Savings | None = None
    pending: list[tuple[str, int]] = field(default_factory=list)  # rows waiting to be imported, per file
    unsettled: Totals = field(default_factory=Totals)  # rows written ahead and never settled (in the totals)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "since": _iso(self.since),
            "until": _iso(self.until),
            "by": self.by,
            "total": self.total.as_dict(),
            "groups": [{"key": key, **totals.as_dict()} for key, totals in self.groups],
            "unpriced_calls": self.total.unpriced,
            "pending": [{"path": path, "rows": rows} for path, rows in self.pending],
            "unsettled": {"calls": self.unsettled.calls, "estimated_cost_usd": float(self.unsettled.cost)},
        }
        if self.savings is not None:
            data["savings"] = self.savings.as_dict()
        return data


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts).isoformat(timespec="seconds")


def _where(since: float | None, until: float | None) -> tuple[str, list[float]]:
    clauses, params = [], []
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts < ?")
        params.append(until)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _totals(sums: list[int]) -> Totals:
    return Totals(*sums)


def _null_first(values: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    """Sort keys as SQL's ORDER BY does: NULL (no task, no profile) before any value."""
    return tuple((v is not None, "" if v is None else v) for v in values)


def cost_report(
    target: LedgerTarget,
    by: list[str],
    since: float | None,
    until: float | None,
    vs: tuple[str, Price | None] | None = None,
) -> CostReport:
    for name in by:
        if name not in GROUPS:
            raise UsageError(f"cannot group by '{name}' (choose from: {', '.join(GROUPS)})")
    report = CostReport(by=by, since=since, until=until, total=Totals())
    report.pending = [(str(path), rows) for path, rows in pending_rows(target.path) if rows]
    if not target.exists():
        if vs is not None:
            report.savings = Savings(vs[0], Decimal(0), Decimal(0))
        return report
    where, params = _where(since, until)
    with target.open(readonly=True) as ledger:
        total = ledger.aggregate((), since, until).get(())
        report.total = _totals(total) if total else Totals()
        unsettled = ledger.aggregate(["status"], since, until).get((IN_FLIGHT,))
        report.unsettled = _totals(unsettled) if unsettled else Totals()
        if by:
            groups = ledger.aggregate([GROUPS[name] for name in by], since, until)
            for values in sorted(groups, key=_null_first):
                report.groups.append((dict(zip(by, values, strict=True)), _totals(groups[values])))
        if vs is not None:
            report.savings = _savings(ledger, where, params, vs[0], vs[1], report.total.cost)
    return report


def _savings(
    ledger: Ledger, where: str, params: list[float], alias: str, price: Price | None, actual: Decimal
) -> Savings:
    """The recorded usage of successful calls, priced at `alias`'s rates (tier by each call's input)."""
    if price is None:
        raise UsageError(f"model '{alias}' has no known price, so nothing can be compared with it")
    ok = f"{where} {'AND' if where else 'WHERE'} status = 'ok' AND input_tokens IS NOT NULL"
    left_out = int(ledger.query(f"SELECT COUNT(*) FROM attempts{ok} AND cost_nano IS NULL", params)[0][0])
    ok += " AND cost_nano IS NOT NULL"  # what an unpriced call cost is unknown: it saved nothing we can tell
    starts = sorted({start for start, _ in (*price.input_tiers, *price.output_tiers, *price.cached_tiers)})
    bands = [0, *starts]
    baseline = Decimal(0)
    for index, low in enumerate(bands):  # one query per tier band: each call pays its band's rates
        high = bands[index + 1] if index + 1 < len(bands) else None
        band = f" AND input_tokens > {low}" if low else ""
        band += f" AND input_tokens <= {high}" if high is not None else ""
        sums = ledger.query(
            "SELECT COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
            f"COALESCE(SUM(cached_input_tokens), 0) FROM attempts{ok}{band}",
            params,
        )[0]
        inp, out, cached = (int(v) for v in sums)
        in_rate, out_rate, cached_rate = price.rates(low + 1 if low else 0)
        baseline += ((inp - cached) * in_rate + cached * cached_rate + out * out_rate) / MILLION
    return Savings(alias, baseline, actual, left_out)


# ----------------------------------------------------------------------------- stats


@dataclass
class ModelStats:
    alias: str
    provider: str
    calls: int
    ok: int
    fallbacks: int
    validation_failed: int
    first_token: list[float]
    total: list[float]
    cost_nano: int
    unpriced: int = 0  # calls of a model with no known price: not in cost_nano, and not $0 either

    @property
    def success_rate(self) -> float:
        return self.ok / self.calls if self.calls else 0.0

    @property
    def fallback_rate(self) -> float:
        return self.fallbacks / self.calls if self.calls else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "alias": self.alias,
            "provider": self.provider,
            "calls": self.calls,
            "ok": self.ok,
            "success_rate": round(self.success_rate, 4),
            "fallback_rate": round(self.fallback_rate, 4),
            "validation_failed": self.validation_failed,
            "first_token_p50_s": percentile(self.first_token, 50),
            "first_token_p95_s": percentile(self.first_token, 95),
            "total_p50_s": percentile(self.total, 50),
            "total_p95_s": percentile(self.total, 95),
            "cost_usd": None if self.unpriced == self.calls else float(Decimal(self.cost_nano) / NANO),
            "unpriced_calls": self.unpriced,
        }


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 4)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[int(pct) - 1], 4)


@dataclass
class StatsReport:
    since: float | None
    models: list[ModelStats]
    providers: list[dict[str, Any]]
    recommendations: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": _iso(self.since),
            "models": [m.as_dict() for m in self.models],
            "providers": self.providers,
            "recommendations": self.recommendations,
        }


def stats_report(target: LedgerTarget, since: float | None, now: float | None = None) -> StatsReport:
    now = time.time() if now is None else now
    if not target.exists():
        return StatsReport(since, [], [], [])
    where, params = _where(since, None)
    with target.open(readonly=True) as ledger:
        rows = ledger.query(
            f"SELECT alias, provider, status, first_token_s, total_s, cost_nano, ts "
            f"FROM attempts{where}",
            params,
        )
    models: dict[str, ModelStats] = {}
    week_ago = now - 7 * 86400
    recent: dict[str, list[int]] = {}  # alias -> [calls, failures] in the last 7 days
    for alias, provider, status, first, total, cost, ts in rows:
        stats = models.setdefault(alias, ModelStats(alias, provider, 0, 0, 0, 0, [], [], 0))
        stats.calls += 1
        if cost is None:
            stats.unpriced += 1
        else:
            stats.cost_nano += int(cost)
        if status == "ok":
            stats.ok += 1
            if first is not None:
                stats.first_token.append(float(first))
            if total is not None:
                stats.total.append(float(total))
        elif status == "fallback":
            stats.fallbacks += 1
        elif status == "validation_failed":
            stats.validation_failed += 1
        if ts >= week_ago:
            counts = recent.setdefault(alias, [0, 0])
            counts[0] += 1
            counts[1] += status not in ("ok", "interrupted", IN_FLIGHT)  # running (or killed) is not failing
    providers = _provider_rollup(models.values())
    return StatsReport(
        since, sorted(models.values(), key=lambda m: -m.calls), providers, _recommend(models, recent)
    )


def _provider_rollup(models: Any) -> list[dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for m in models:
        entry = result.setdefault(
            m.provider, {"provider": m.provider, "calls": 0, "ok": 0, "fallbacks": 0, "first_token": [], "total": []}
        )
        entry["calls"] += m.calls
        entry["ok"] += m.ok
        entry["fallbacks"] += m.fallbacks
        entry["first_token"] += m.first_token
        entry["total"] += m.total
    rolled = []
    for entry in sorted(result.values(), key=lambda e: -e["calls"]):
        rolled.append(
            {
                "provider": entry["provider"],
                "calls": entry["calls"],
                "success_rate": round(entry["ok"] / entry["calls"], 4) if entry["calls"] else 0.0,
                "fallback_rate": round(entry["fallbacks"] / entry["calls"], 4) if entry["calls"] else 0.0,
                "first_token_p50_s": percentile(entry["first_token"], 50),
                "first_token_p95_s": percentile(entry["first_token"], 95),
                "total_p50_s": percentile(entry["total"], 50),
                "total_p95_s": percentile(entry["total"], 95),
            }
        )
    return rolled


MIN_EVIDENCE = 5  # calls before a recommendation is worth making


def _recommend(models: dict[str, ModelStats], recent: dict[str, list[int]]) -> list[str]:
    """Advice on failing and slow models; advice on min_tier comes from replaying decisions (run/advice.py)."""
    advice = []
    for alias, (calls, failures) in sorted(recent.items()):
        if calls >= MIN_EVIDENCE and failures * 2 > calls:
            advice.append(
                f"{alias} failed {failures} of its {calls} calls in the last 7 days: check its key and the "
                f"provider's status, or move it down the chain in routes.yaml"
            )
    for alias, m in sorted(models.items()):
        p95 = percentile(m.first_token, 95)
        if p95 is not None and p95 > 10 and len(m.first_token) >= MIN_EVIDENCE:
            advice.append(f"{alias} is slow to start (p95 time to first token {p95:.1f}s): mark it speed: slow")
    return advice
