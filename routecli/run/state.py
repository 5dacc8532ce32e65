"""Reading the world once per run: prices, keys and base URLs, local servers, cooldowns on disk, and (when a
budget needs it) what the ledger says was spent. The plan is made from this, and nothing reads it again."""

from __future__ import annotations

import time
from decimal import Decimal

from routecli.ledger import shared_cooldowns
from routecli.paths import Paths
from routecli.policy.environment import Environment, read_environment
from routecli.policy.prices import PriceTable, resolve_prices
from routecli.policy.types import Policy
from routecli.routing.decide import RoutingState
from routecli.values import frozen


@frozen(eq=False)
class World:
    prices: PriceTable
    environment: Environment
    state: RoutingState
    notices: tuple[str, ...] = ()  # e.g. a damaged ledger set aside


def read_world(policy: Policy, paths: Paths, repair: bool = False) -> World:
    """`repair`: a damaged ledger may be set aside and rebuilt (commands that record; never `route explain`)."""
    prices = resolve_prices(policy, paths.price_cache)
    environment = read_environment(policy)
    today, month, ledger_notice = _spent(policy, paths, repair)
    now = time.time()
    state = RoutingState(
        keys_present={name: environment.has_key(name) for name in policy.providers},
        local_enabled=environment.local_enabled,
        unusable=environment.problems(),
        cooldowns=shared_cooldowns.load(paths, now),
        spent_today=today,
        spent_month=month,
        now=now,
    )
    return World(prices, environment, state, (ledger_notice,) if ledger_notice else ())


def _spent(policy: Policy, paths: Paths, repair: bool) -> tuple[Decimal, Decimal, str | None]:
    """Today's and this month's spend, read from the ledger only when a budget needs them."""
    budgets = policy.budgets
    limits = (budgets.per_day, budgets.per_month, budgets.per_user_day, budgets.per_user_month)
    if all(limit is None for limit in limits):
        return Decimal(0), Decimal(0), None
    if paths.ledger_url is None and not paths.ledger.exists():
        from routecli.ledger.pending_files import any_waiting

        if not any_waiting(paths.ledger):
            return Decimal(0), Decimal(0), None  # nothing to read (and the ledger's store stays unimported)
    from routecli.ledger.target import ledger_target

    target = ledger_target(paths)
    from routecli.ledger.record import spent

    return spent(target, repair=repair)
