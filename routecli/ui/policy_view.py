"""`route policy show`: the merged, effective policy as plain data, with anything that looks like a secret masked.

The policy only names key environment variables, and its schema has no field for a key; but a key can still
end up in a policy by hand (a base URL with `?key=...` or `user:pass@`, a pasted key in a model id), and
`policy show` output gets pasted into issues. So every string is scrubbed before it is printed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from routecli.policy.environment import mask
from routecli.policy.keyshapes import mask_keys
from routecli.policy.prices import PriceTable
from routecli.policy.types import Policy

if TYPE_CHECKING:  # `policy show --diff` only: every explain masks through this module
    from routecli.policy.diff import Change

_SECRET_PARAMS = {"key", "api_key", "apikey", "api-key", "token", "access_token", "secret", "password"}


def known_secrets(policy: Policy | None) -> list[str]:
    """The values of the key variables the policy names that are set right now: never to be printed."""
    if policy is None:
        return []
    values = {os.environ.get(p.key_env, "").strip() for p in policy.providers.values() if p.key_env}
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def scrub_url(url: str) -> str:
    """A URL without a password in it or secret-looking query values (key=, token=, ...)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if parts.password and "…" not in parts.password:  # "…": already masked (a known key, replaced first)
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{mask(parts.password)}@{host}"
    pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        name, sep, value = pair.partition("=")
        secret = bool(sep) and name.lower() in _SECRET_PARAMS and "…" not in unquote(value)
        pairs.append(f"{name}={mask(unquote(value))}" if secret else pair)
    query = "&".join(pairs)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` with known key values and anything shaped like a key replaced by its mask."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, mask(secret))
    if "://" in text:
        text = scrub_url(text)
    return mask_keys(text)


def plain(value: Any, secrets: Sequence[str] = ()) -> Any:
    """LineDict / LineList to plain dicts and lists (yaml.safe_dump refuses subclasses), strings scrubbed."""
    if isinstance(value, dict):  # LineDict included
        return {str(k): plain(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # LineList included
        return [plain(v, secrets) for v in value]
    if isinstance(value, str):
        return scrub(value, secrets)
    return value


def masked(value: Any, policy: Policy | None = None) -> Any:
    """What every renderer prints goes through here: `value` (text, or JSON-like data) with the policy's key values
    and anything shaped like a key replaced by `mask`. A reply is the one thing never passed through it."""
    return plain(value, known_secrets(policy))


def _rate(value: Decimal) -> str:
    """$0.10, $2.00, $0.075: cents always, more decimals only when the price has them."""
    exponent = value.normalize().as_tuple().exponent
    digits = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"${value:.{digits}f}"


def price_dict(prices: PriceTable) -> dict[str, dict[str, Any] | None]:
    """Resolved prices per million tokens, as JSON (strings keep the exact decimals)."""
    result: dict[str, dict[str, Any] | None] = {}
    for alias, price in prices.items():
        if price is None:
            result[alias] = None
            continue
        result[alias] = {
            "input": str(price.input),
            "output": str(price.output),
            "cached_input": None if price.cached_input is None else str(price.cached_input),
            "source": price.source,
            "input_tiers": [[start, str(rate)] for start, rate in price.input_tiers],
            "output_tiers": [[start, str(rate)] for start, rate in price.output_tiers],
        }
    return result


def price_comment(alias: str, prices: PriceTable) -> str:
    if alias not in prices:
        return ""
    price = prices[alias]
    if price is None:
        return "# unpriced: no price known (add price: to the policy)"
    text = f"# {_rate(price.input)} in / {_rate(price.output)} out"
    if price.cached_input is not None:
        text += f" / {_rate(price.cached_input)} cached"
    text += f" per 1M tokens ({price.source})"
    if price.input_tiers:
        text += ", tiered above " + ", ".join(f"{start:,}" for start, _ in price.input_tiers) + " input tokens"
    return text


def _short(value: Any, limit: int) -> bool:
    return not isinstance(value, (dict, list)) and not (isinstance(value, str) and len(value) > limit)


def _dumper() -> Any:
    """A SafeDumper that writes short things on one line as the default routes.yaml does (`[chat, code]`,
    `{connect: 10, idle: 30}`) and everything else, regular expressions included, as blocks."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_list(dumper: Any, data: list[Any]) -> Any:
        flow = bool(data) and all(_short(v, 30) for v in data) and sum(len(str(v)) + 2 for v in data) <= 100
        return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)

    def represent_dict(dumper: Any, data: dict[str, Any]) -> Any:
        flow = bool(data) and all(_short(v, 16) for v in data.values())
        return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)

    Dumper.add_representer(list, represent_list)
    Dumper.add_representer(dict, represent_dict)
    return Dumper


def policy_yaml(policy: Policy, prices: PriceTable | None) -> str:
    """The merged policy as YAML, in file order, with each model's resolved price as a comment."""
    import yaml

    data = plain(policy.raw, known_secrets(policy))
    default, *users = policy.sources
    header = [f"# The effective route policy: {default}" + "".join(f", with {u} merged over it" for u in users)]
    if prices is not None:
        header.append("# Comments on models: resolved prices in USD per million tokens.")
    body = yaml.dump(data, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=4096)
    if prices is None:
        return "\n".join(header) + "\n" + body
    lines = []
    in_models = False
    for line in body.splitlines():
        if line and not line.startswith(" "):
            in_models = line == "models:"
        elif in_models and line.startswith("  ") and not line.startswith("   ") and line.endswith(":"):
            alias = yaml.safe_load(line.strip()[:-1])  # the key as YAML wrote it, quoted or not
            comment = price_comment(str(alias), prices)
            if comment:
                line = f"{line}  {comment}"
        lines.append(line)
    return "\n".join(header + lines) + "\n"


_SHOWN_CHARS = 100  # a long value (a rule's patterns) is cut in a diff line: the file:line points at all of it


def _compact(value: Any, secrets: Sequence[str]) -> str:
    """One value on one line, as YAML writes it in flow style (`[chat, code]`, `{input: 0.1}`, `'\\bfoo'`)."""
    import yaml

    shown = plain(value, secrets)
    text = yaml.safe_dump(shown, default_flow_style=True, width=10**6, allow_unicode=True, sort_keys=False)
    text = text.removesuffix("\n").removesuffix("\n...").strip()
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def diff_text(sources: Sequence[str], changes: Sequence[Change], policy: Policy | None = None) -> str:
    """`route policy show --diff`: one line per setting the user's file adds, changes or removes, and where."""
    if not changes:
        return "No changes from the default policy.\n"
    secrets = known_secrets(policy)
    lines = [f"# What {sources[-1]} changes in the default policy ({sources[0]}): setting: default -> yours"]
    for change in changes:
        old = "(not set)" if change.kind == "added" else _compact(change.old, secrets)
        new = "(removed)" if change.kind == "removed" else _compact(change.new, secrets)
        lines.append(f"{change.path}: {old} -> {new}  ({change.origin})")
    return "\n".join(lines) + "\n"


def diff_dicts(changes: Sequence[Change], policy: Policy | None = None) -> list[dict[str, Any]]:
    """The same as JSON: old is null when added, new is null when removed (`change` says which)."""
    secrets = known_secrets(policy)
    return [
        {
            "path": change.path,
            "change": change.kind,
            "old": None if change.kind == "added" else plain(change.old, secrets),
            "new": None if change.kind == "removed" else plain(change.new, secrets),
            "file": change.origin.path,
            "line": change.origin.line,
        }
        for change in changes
    ]
