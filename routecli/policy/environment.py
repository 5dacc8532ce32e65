"""The one reader of provider settings in the environment: API keys, `<NAME>_BASE_URL` overrides, ROUTE_LOCAL.

Read once per run (`read_environment`) and handed down: the decision sees which keys exist, the executor gets
the endpoint from here, doctor and models show it. Keys are held in memory only, never written or printed whole.
"""

from __future__ import annotations

import os

from routecli.policy.settings_check import base_url_problem, key_problem
from routecli.policy.types import Policy, Provider
from routecli.values import frozen


def base_url_override(provider: Provider) -> str | None:
    """`<NAME>_BASE_URL` from the environment, when the user set one: the server they named."""
    return os.environ.get(provider.base_url_env, "").strip() or None


def _key(provider: Provider) -> str | None:
    if provider.key_env is None:
        return None
    return os.environ.get(provider.key_env, "").strip() or None


@frozen(eq=False)
class Access:
    """How to reach one provider from this machine."""

    key: str | None
    base_url: str  # the override if set, else the policy's
    base_url_override: str | None  # what `<NAME>_BASE_URL` said, if anything
    problem: str | None = None  # a setting that can never work (policy/settings_check.py): the provider is left out


@frozen(eq=False)
class Environment:
    access: dict[str, Access]  # provider name -> access
    local_enabled: frozenset[str]  # local providers switched on (named by URL, ROUTE_LOCAL=1, or discovered)

    def key(self, provider: str) -> str | None:
        return self.access[provider].key

    def held_keys(self, policy: Policy) -> dict[str, str]:
        """Environment variable -> the key route holds for it: found verbatim in a prompt, it is a secret."""
        return {p.key_env: key for name, p in policy.providers.items() if p.key_env and (key := self.key(name))}

    def has_key(self, provider: str) -> bool:
        return self.access[provider].key is not None

    def base_url(self, provider: str) -> str:
        return self.access[provider].base_url

    def problems(self) -> dict[str, str]:
        """Provider name -> why its settings in the environment can never work (the variable named, not its value)."""
        return {name: access.problem for name, access in self.access.items() if access.problem}


def read_environment(policy: Policy) -> Environment:
    switched_on = os.environ.get("ROUTE_LOCAL", "") not in ("", "0")
    access = {}
    for name, provider in policy.providers.items():
        override, key = base_url_override(provider), _key(provider)
        problem = (key_problem(provider.key_env, key) if key and provider.key_env else None) or (
            base_url_problem(provider.base_url_env, override) if override else None
        )
        access[name] = Access(key, override or provider.base_url, override, problem)
    named = frozenset(
        name for name, p in policy.providers.items() if p.local and (switched_on or access[name].base_url_override)
    )
    return Environment(access, policy.discovered | named)


def mask(secret: str | None) -> str:
    """Show enough of a key to recognise it, never enough to use it: sk-…a1b2."""
    if not secret:
        return "-"
    if len(secret) <= 8:
        return "…" + secret[-2:]
    prefix = secret[:3] if secret[:3].isalpha() or secret.startswith("sk-") else ""
    return f"{prefix}…{secret[-4:]}"
