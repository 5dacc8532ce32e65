"""Gathering the RoutingState the decision needs: keys in the environment, local servers switched on,
cooldowns on disk, and (once the ledger exists) what has been spent."""

from __future__ import annotations

import os
import time
from decimal import Decimal

from . import cooldowns
from .paths import Paths
from .policy import Policy, Provider
from .router import RoutingState


def api_key(provider: Provider) -> str | None:
    if provider.key_env is None:
        return None
    value = os.environ.get(provider.key_env, "").strip()
    return value or None


def base_url_override(provider: Provider) -> str | None:
    """`<NAME>_BASE_URL` from the environment, when the user set one: the server they named."""
    return os.environ.get(provider.base_url_env, "").strip() or None


def base_url(provider: Provider) -> str:
    """`<NAME>_BASE_URL` in the environment wins over the policy's base_url."""
    return base_url_override(provider) or provider.base_url


def local_enabled(policy: Policy) -> frozenset[str]:
    """Local servers count as available once the user points route at them (or says ROUTE_LOCAL=1), or
    once discovery found them answering (`policy.discovered`, see discover.py)."""
    switched_on = os.environ.get("ROUTE_LOCAL", "") not in ("", "0")
    return policy.discovered | frozenset(
        p.name for p in policy.providers.values() if p.local and (switched_on or base_url_override(p))
    )


def mask(secret: str | None) -> str:
    """Show enough of a key to recognise it, never enough to use it: sk-…a1b2."""
    if not secret:
        return "-"
    if len(secret) <= 8:
        return "…" + secret[-2:]
    prefix = secret[:3] if secret[:3].isalpha() or secret.startswith("sk-") else ""
    return f"{prefix}…{secret[-4:]}"


def gather_state(
    policy: Policy, paths: Paths, spent_today: Decimal = Decimal(0), spent_month: Decimal = Decimal(0)
) -> RoutingState:
    now = time.time()
    return RoutingState(
        keys_present={name: api_key(p) is not None for name, p in policy.providers.items()},
        local_enabled=local_enabled(policy),
        cooldowns=cooldowns.load(paths.cooldowns, now),
        spent_today=spent_today,
        spent_month=spent_month,
        now=now,
    )
