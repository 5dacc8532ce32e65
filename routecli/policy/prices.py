"""Prices per million tokens for each model, from the policy's override or the genai-prices package.

Importing genai-prices costs ~0.15 s, more than the whole of `route explain`, so resolved prices are
cached in a small JSON file keyed by the package's version: the package is imported only when a model
is not in the cache yet (a new model, a new genai-prices release, or the first run).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from routecli.paths import write_private
from routecli.policy.types import Model, Policy
from routecli.values import frozen

MILLION = Decimal(1_000_000)
CENT = Decimal("0.01")
CACHE_FORMAT = 2  # bump when the cached entries change shape


def money(value: Decimal | None, places: int | None = None) -> str:
    """Dollars, the one way route shows an amount: `places` decimals (by default 4, or 2 from $100), and an
    amount under a cent always keeps two significant digits ($0.0010, not $0.00): a budget of $0.001 is shown
    as it is. The policy's prices per million tokens are rates, shown as written (ui/policy_view.py)."""
    if value is None:
        return "unpriced"
    value = value if isinstance(value, Decimal) else Decimal(str(value))
    if value == 0:
        return "$0"
    if places is None:
        places = 2 if abs(value) >= 100 else 4
    if abs(value) < CENT:
        places = max(places, 1 - value.adjusted())  # 0.001 -> 4 places: $0.0010
    return f"${value:.{places}f}"


@frozen
class Price:
    """USD per million tokens. Input tiers: above `start` input tokens, the whole request pays that rate."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None
    source: str  # "policy" or "genai-prices 0.2.3"
    input_tiers: tuple[tuple[int, Decimal], ...] = ()
    output_tiers: tuple[tuple[int, Decimal], ...] = ()
    cached_tiers: tuple[tuple[int, Decimal], ...] = ()
    cache_write: Decimal | None = None  # Anthropic-style cache writes; None: billed as plain input

    def rates(self, input_tokens: int) -> tuple[Decimal, Decimal, Decimal]:
        """The (input, output, cached-input) rates that apply to a request of this size."""

        def pick(base: Decimal, tiers: tuple[tuple[int, Decimal], ...]) -> Decimal:
            rate = base
            for start, tier_rate in tiers:
                if input_tokens > start:
                    rate = tier_rate
            return rate

        cached_base = self.cached_input if self.cached_input is not None else self.input
        return (
            pick(self.input, self.input_tiers),
            pick(self.output, self.output_tiers),
            pick(cached_base, self.cached_tiers),
        )

    def cost(
        self, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0, cache_write_tokens: int = 0
    ) -> Decimal:
        """Exact cost in USD. `input_tokens` counts every prompt token, cache reads and writes included."""
        in_rate, out_rate, cached_rate = self.rates(input_tokens)
        write_rate = self.cache_write if self.cache_write is not None else in_rate
        plain = max(input_tokens - cached_input_tokens - cache_write_tokens, 0)
        total = (
            plain * in_rate + cached_input_tokens * cached_rate + cache_write_tokens * write_rate
            + output_tokens * out_rate
        )
        return total / MILLION


PriceTable = dict[str, Price | None]  # alias -> price, None when no source knows it ("unpriced")


def _genai_version() -> str | None:
    """The installed genai-prices version, read from its metadata folder name (no import needed)."""
    import importlib.util

    spec = importlib.util.find_spec("genai_prices")
    if spec is None or not spec.origin:
        return None
    site = Path(spec.origin).parent.parent
    for entry in site.glob("genai_prices-*.dist-info"):
        return entry.name.removeprefix("genai_prices-").removesuffix(".dist-info")
    return "unknown"


def _lookup_key(model: Model, policy: Policy) -> tuple[str | None, str]:
    provider = policy.providers[model.provider]
    return provider.prices_provider, model.price_ref or model.model_id


def _from_genai(provider_id: str | None, model_ref: str, version: str) -> dict[str, object] | None:
    """Ask genai-prices for today's base rates and tiers of one model; None if it does not know it."""
    from genai_prices import data_snapshot, types

    snapshot = data_snapshot.get_snapshot()
    try:
        provider, model = snapshot.find_provider_model(model_ref, None, provider_id, None)
    except LookupError:
        return None
    except Exception:
        return None
    prices = model.get_prices(datetime.now(tz=UTC))

    def split(value: object) -> tuple[str | None, list[list[str | int]]]:
        if value is None:
            return None, []
        if isinstance(value, types.TieredPrices):
            return str(value.base), [[tier.start, str(tier.price)] for tier in value.tiers]
        return str(value), []

    inp, in_tiers = split(prices.input_mtok)
    out, out_tiers = split(prices.output_mtok)
    cached, cached_tiers = split(prices.cache_read_mtok)
    if inp is None or out is None:
        return None
    return {
        "input": inp,
        "output": out,
        "cached_input": cached,
        "input_tiers": in_tiers,
        "output_tiers": out_tiers,
        "cached_tiers": cached_tiers,
        "matched": f"{provider.id}/{model.id}",
        "source": f"genai-prices {version}",
    }


def _price_from_entry(entry: dict[str, object]) -> Price:
    def tiers(key: str) -> tuple[tuple[int, Decimal], ...]:
        return tuple((int(start), Decimal(rate)) for start, rate in entry.get(key) or [])  # type: ignore[union-attr]

    cached = entry.get("cached_input")
    return Price(
        Decimal(str(entry["input"])),
        Decimal(str(entry["output"])),
        None if cached is None else Decimal(str(cached)),
        str(entry["source"]),
        tiers("input_tiers"),
        tiers("output_tiers"),
        tiers("cached_tiers"),
    )


def _load_cache(path: Path, version: str | None) -> dict[str, dict[str, object] | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("genai_prices") != version or data.get("format") != CACHE_FORMAT:
        return {}
    entries = data.get("models")
    return entries if isinstance(entries, dict) else {}


def _save_cache(path: Path, version: str | None, entries: dict[str, dict[str, object] | None]) -> None:
    """Best effort: a cache we cannot write only costs time on the next run."""
    try:
        payload = {"format": CACHE_FORMAT, "genai_prices": version, "models": entries}
        write_private(path, json.dumps(payload))
    except OSError:
        pass


def resolve_prices(policy: Policy, cache_path: Path) -> PriceTable:
    """Every model's price: the policy's override where complete, else genai-prices (cached)."""
    table: PriceTable = {}
    needed: dict[str, Model] = {}
    for alias, model in policy.models.items():
        override = model.price
        if override and override.input is not None and override.output is not None:
            table[alias] = Price(override.input, override.output, override.cached_input, "policy")
        else:
            needed[alias] = model
    if not needed:
        return table
    version = _genai_version()
    cache = _load_cache(cache_path, version)
    missing = False
    for alias, model in needed.items():
        provider_id, ref = _lookup_key(model, policy)
        key = f"{provider_id}/{ref}"
        if key not in cache:
            cache[key] = _from_genai(provider_id, ref, version) if version else None
            missing = True
        entry = cache[key]
        price = _price_from_entry(entry) if entry else None
        if price and model.price:  # a partial override: keep genai-prices for the fields not given
            price = Price(
                model.price.input if model.price.input is not None else price.input,
                model.price.output if model.price.output is not None else price.output,
                model.price.cached_input if model.price.cached_input is not None else price.cached_input,
                price.source + " + policy",
                price.input_tiers,
                price.output_tiers,
                price.cached_tiers,
            )
        table[alias] = price
    if missing:
        _save_cache(cache_path, version, cache)
    return table
