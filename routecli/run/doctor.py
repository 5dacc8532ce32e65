"""`route doctor`: what route would use right now, and whether it works.

Gathers everything into one plain dict (the `--json` shape), which `render_text` prints. Nothing here
raises for a problem it finds: a broken policy, an unreadable ledger or a failed ping is a finding, and
the exit code says which (EXIT_USAGE, EXIT_LEDGER, EXIT_PROVIDER, in that order of precedence).
Keys are only ever shown masked (state.mask); a provider's error message is scrubbed of its key too.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from routecli import __version__
from routecli.errors import EXIT_LEDGER, EXIT_OK, EXIT_PROVIDER, EXIT_USAGE, LedgerError, PolicyError
from routecli.paths import Paths
from routecli.policy.environment import Environment, mask, read_environment
from routecli.policy.load import default_policy_path, load_policy, user_policy_path, validate_file
from routecli.policy.types import Policy, Provider
from routecli.providers import SDK_MODULES
from routecli.ui.policy_view import known_secrets, scrub

# A ping is one token: short limits, so a provider that hangs is reported in seconds, not minutes.
PING_CONNECT_S = 3.0
PING_FIRST_TOKEN_S = 10.0
PING_PROMPT = "Reply with the single word: ok"
# Each wire's SDK, loaded before the clock starts: a ping's latency is the provider's, not an import's.


# ----------------------------------------------------------------------------- policy


def check_policy(explicit: str | None, paths: Paths) -> tuple[dict[str, Any], Policy | None]:
    """The files in use and whether their merge validates. On failure, the default policy alone (if it
    loads) still provides the providers to report, so one bad line does not hide everything else."""
    default = default_policy_path()
    files: list[dict[str, str]] = [{"role": "default", "path": str(default)}]
    report: dict[str, Any] = {"files": files, "ok": False, "error": None}
    try:
        user = user_policy_path(explicit, paths.config_dir)
        if user is not None and user.resolve() != default.resolve():
            files.append({"role": "user", "path": str(user)})
        policy = load_policy(explicit, paths.config_dir, paths.cache_dir)
        from routecli.local.discover import apply

        policy = apply(policy, paths)  # local servers that answer count as configured
    except PolicyError as exc:
        found = exc.message.splitlines()  # every problem in the files, one file:line line each
        more = f" (and {len(found) - 1} more; `route policy validate [FILE]` lists them all)" if len(found) > 1 else ""
        report["error"] = found[0] + more
        report["errors"] = found
        if explicit is None and os.environ.get("ROUTE_POLICY"):
            report["from"] = "$ROUTE_POLICY"
        try:
            fallback: Policy | None = validate_file(default)
            report["providers_from"] = "the default policy alone"
        except PolicyError:
            fallback = None
        return report, fallback
    report.update(ok=True, models=len(policy.models), tasks=len(policy.tasks), profiles=len(policy.profiles))
    report["default_profile"] = policy.default_profile
    report.update(_trust(explicit, paths, policy))
    return report, policy


def _trust(explicit: str | None, paths: Paths, policy: Policy) -> dict[str, Any]:
    """A folder's routes.yaml that is ignored until trusted, or a trusted one that changes where keys go."""
    from routecli.policy.trust import folder_policy

    folder = folder_policy(
        policy.sources, paths.config_dir, bool(explicit or os.environ.get("ROUTE_POLICY")), paths.cache_dir
    )
    if folder.ignored is not None:
        return {"untrusted": str(folder.ignored.resolve())}
    return {"key_routing": list(folder.key_routing)} if folder.key_routing else {}


# ----------------------------------------------------------------------------- providers


def _ping_model(policy: Policy, provider: Provider) -> str | None:
    """The provider's least capable model (lowest tier, first in the policy): the cheapest to ask."""
    models = [m for m in policy.models.values() if m.provider == provider.name]
    return min(models, key=lambda m: m.tier).alias if models else None


def provider_rows(policy: Policy) -> list[dict[str, Any]]:
    environment = read_environment(policy)
    secrets = known_secrets(policy)
    rows = []
    for provider in policy.providers.values():
        access = environment.access[provider.name]
        key = access.key
        url_override = access.base_url_override
        row: dict[str, Any] = {
            "name": provider.name,
            "wire": provider.wire,
            "base_url": scrub(access.base_url, secrets),
            "base_url_from": f"env {provider.base_url_env}" if url_override else "policy",
            "key_env": provider.key_env,
            "key_set": key is not None,
            "key": mask(key) if key else None,
            "local": provider.local,
            "enabled": provider.name in environment.local_enabled if provider.local else key is not None,
            "ping_model": _ping_model(policy, provider),
        }
        if provider.local:
            row["discovery"] = (
                "found" if provider.name in policy.discovered
                else "not answering" if provider.name in policy.silent
                else "off" if not provider.discover else "not asked"
            )  # fmt: skip
        if access.problem:  # a key or URL that can never work: a problem, and never pinged
            row.update(enabled=False, why_disabled=access.problem, problem=access.problem)
        elif provider.local and not row["enabled"]:
            row["why_disabled"] = (
                f"no local server answering (start it, or set {provider.base_url_env})"
                if provider.name in policy.silent
                else f"local server not enabled (set {provider.base_url_env} or ROUTE_LOCAL=1)"
            )
        elif not provider.local and key is None:
            row["why_disabled"] = f"no API key (set {provider.key_env})"
        rows.append(row)
    return rows


def _ping_one(policy: Policy, environment: Environment, alias: str, secrets: list[str]) -> dict[str, Any]:
    from routecli.providers import get_adapter
    from routecli.providers.base import ChatRequest, ProviderError, Timeouts
    from routecli.run.executor import endpoint_for, timeouts_for

    model = policy.models[alias]
    endpoint = endpoint_for(policy, environment, alias)
    own = timeouts_for(policy, alias)
    timeouts = Timeouts(
        connect=min(own.connect, PING_CONNECT_S),
        first_token=min(own.first_token, PING_FIRST_TOKEN_S),
        idle=min(own.idle, PING_FIRST_TOKEN_S),
        headers=min(own.headers, PING_FIRST_TOKEN_S),
    )
    request = ChatRequest(model_id=model.model_id, prompt=PING_PROMPT, max_tokens=1, stream=True)
    start = time.monotonic()
    try:
        for _event in get_adapter(endpoint.wire)(endpoint, request, timeouts):
            pass  # one token at most: reading to the end proves the stream works
    except ProviderError as error:
        return {
            "ok": False,
            "model": alias,
            "error_kind": error.kind.value,
            "status": error.status,
            "message": scrub(error.message, secrets),
            "latency_s": round(time.monotonic() - start, 3),
        }
    except Exception as error:  # an adapter bug: still a finding, not a crash of the whole report
        return {
            "ok": False,
            "model": alias,
            "error_kind": "internal_error",
            "status": None,
            "message": scrub(f"{type(error).__name__}: {error}", secrets),
            "latency_s": round(time.monotonic() - start, 3),
        }
    return {"ok": True, "model": alias, "latency_s": round(time.monotonic() - start, 3)}


def ping_all(policy: Policy, rows: list[dict[str, Any]]) -> None:
    """Ping every enabled provider at once (daemon threads: a Ctrl-C never waits for a slow provider).
    Each row gets a `ping` entry; disabled providers are marked skipped."""
    import importlib

    secrets = known_secrets(policy)
    environment = read_environment(policy)
    # Only the SDK transport needs its SDK; importing it up front keeps that import out of the ping's time.
    sdk_wires = {row["wire"] for row in rows if row["enabled"] and policy.providers[row["name"]].transport == "sdk"}
    for wire in sorted(sdk_wires):
        with contextlib.suppress(Exception):  # the adapter meets the same problem and reports it
            importlib.import_module(SDK_MODULES[wire])
    results: dict[str, dict[str, Any]] = {}
    threads = []
    for row in rows:
        if not row["enabled"] or row["ping_model"] is None:
            reason = row.get("why_disabled") or "no model in the policy uses this provider"
            row["ping"] = {"ok": None, "skipped": reason}
            continue

        def work(name: str = row["name"], alias: str = row["ping_model"]) -> None:
            results[name] = _ping_one(policy, environment, alias, secrets)

        thread = threading.Thread(target=work, name=f"ping-{row['name']}", daemon=True)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + PING_CONNECT_S + PING_FIRST_TOKEN_S + 30  # run_guarded bounds each ping
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for row in rows:
        if "ping" not in row:
            row["ping"] = results.get(row["name"]) or {
                "ok": False, "model": row["ping_model"], "error_kind": "timeout", "status": None,
                "message": "no answer in time", "latency_s": None,
            }


# ----------------------------------------------------------------------------- ledger and cooldowns


def _writable(path: Path) -> bool:
    """Whether route could create or write `path` (the nearest existing folder decides for a new file)."""
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return os.access(parent, os.W_OK)


def ledger_report(path: Path) -> dict[str, Any]:
    from routecli.ledger.pending_files import pending_paths
    from routecli.ledger.store import SCHEMA_VERSION, Ledger

    report: dict[str, Any] = {
        "path": str(path),
        "exists": path.exists(),
        "size_bytes": None,
        "schema_version": None,
        "supported_schema_version": SCHEMA_VERSION,
        "rows": None,
        "writable": _writable(path),
        "error": None,
    }
    if path.exists():
        wal = path.with_name(path.name + "-wal")
        report["size_bytes"] = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        try:
            with Ledger(path, readonly=True) as ledger:
                report["schema_version"] = ledger.schema_version()
                if report["schema_version"] >= 1:
                    report["rows"] = ledger.query("SELECT COUNT(*) FROM attempts")[0][0]
        except LedgerError as exc:
            report["error"] = exc.message
    if not report["writable"] and report["error"] is None:
        report["error"] = f"the ledger {path} cannot be written (permissions)"
    pending = []
    for candidate in pending_paths(path):
        if candidate.exists():
            try:
                with candidate.open(encoding="utf-8", errors="replace") as handle:
                    count = sum(1 for line in handle if line.strip())
            except OSError:
                count = None
            pending.append({"path": str(candidate), "rows": count})
    report["pending"] = pending
    report["pending_rows"] = sum(p["rows"] or 0 for p in pending)
    return report


def shared_ledger_report(paths: Paths) -> dict[str, Any]:
    """The team's PostgreSQL ledger: its URL (password masked), whether it answers, its rows; pending rows here."""
    from routecli.ledger.pending_files import pending_rows
    from routecli.ledger.pg_schema import PG_SCHEMA_VERSION
    from routecli.ledger.target import ledger_target

    target = ledger_target(paths, need_driver=False)
    report: dict[str, Any] = {
        "path": target.describe(),
        "shared": True,
        "exists": False,
        "schema_version": None,
        "supported_schema_version": PG_SCHEMA_VERSION,
        "rows": None,
        "writable": None,
        "error": None,
    }
    try:
        with target.open(readonly=True) as ledger:
            report["exists"] = True
            report["schema_version"] = ledger.schema_version()
            if report["schema_version"]:
                report["rows"] = ledger.query("SELECT COUNT(*) FROM attempts")[0][0]
    except LedgerError as exc:
        report["error"] = exc.message
    pending = [{"path": str(path), "rows": rows} for path, rows in pending_rows(target.path)]
    report["pending"] = pending
    report["pending_rows"] = sum(p["rows"] for p in pending)
    return report


def cooldown_rows(paths: Paths) -> list[dict[str, Any]]:
    from routecli.ledger import shared_cooldowns

    now = time.time()
    return [
        {
            "key": key,
            "reason": entry.reason,
            "until": datetime.fromtimestamp(entry.until).astimezone().isoformat(timespec="seconds"),
            "seconds_left": math.ceil(entry.until - now),
        }
        for key, entry in sorted(shared_cooldowns.load(paths, now).items(), key=lambda item: item[1].until)
    ]


# ----------------------------------------------------------------------------- the whole report


def diagnose(explicit: str | None, paths: Paths, ping: bool) -> dict[str, Any]:
    policy_report, policy = check_policy(explicit, paths)
    paths = paths.with_ledger_url(policy.ledger_url if policy else None)
    rows = provider_rows(policy) if policy else []
    if ping and policy:
        ping_all(policy, rows)
    ledger = shared_ledger_report(paths) if paths.ledger_url else ledger_report(paths.ledger)
    problems = []
    code = EXIT_OK
    if not policy_report["ok"]:
        problems.append(f"policy: {policy_report['error']}")
        code = EXIT_USAGE
    if ledger["error"]:
        problems.append(f"ledger: {ledger['error']}")
        code = code or EXIT_LEDGER
    for row in rows:
        if row.get("problem"):
            problems.append(f"{row['name']}: {row['problem']}")
            code = code or EXIT_USAGE
    failed = [f"{row['name']} ({row['ping']['error_kind']})" for row in rows if row.get("ping", {}).get("ok") is False]
    if failed:
        problems.append(f"ping failed: {', '.join(failed)}")
        code = code or EXIT_PROVIDER
    if policy and not any(row["enabled"] for row in rows):
        warnings = ["no provider is usable: set an API key (or enable a local server) before `route ask`"]
    else:
        warnings = []
    return {
        "route_version": __version__,
        "python": sys.version.split()[0],
        "route_home": os.environ.get("ROUTE_HOME") or None,
        "policy": policy_report,
        "providers": rows,
        "pinged": ping,
        "ledger": ledger,
        "cooldowns": cooldown_rows(paths),
        "warnings": warnings,
        "problems": problems,
        "ok": not problems,
        "exit_code": code,
        "ping_limits": {"connect_s": PING_CONNECT_S, "first_token_s": PING_FIRST_TOKEN_S},
    }
