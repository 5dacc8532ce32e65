"""Discovery of local OpenAI-compatible servers (Ollama, LM Studio, llama.cpp's llama-server).

A local provider with `discover: true` in the policy has its server asked `GET <base>/models`; every model
listed becomes a policy Model of that provider (priced at zero) and a candidate of the tasks a small local
model can do (chat, summarize, extract). A server that answers counts as switched on, like one named by
`<NAME>_BASE_URL`. Which URLs are asked: `<NAME>_BASE_URL` if set, else the provider's `probe` list (ports
or URLs; the first that answers wins and becomes the provider's base URL), else its `base_url`.

`route explain` takes ~0.1 s, so probing must not happen on every run: answers (and the lack of one) are
cached for TTL seconds in the cache dir, and a probe is bounded by PROBE_TIMEOUT in total, all URLs at once.
Only stdlib is imported at first, and the HTTP client (httpx2) only when a probe is due and a server
listens (a refused connection on loopback settles the usual case, no server, in well under a millisecond).
ROUTE_DISCOVER=0 switches it all off.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from dataclasses import field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from routecli.paths import Paths, write_private
from routecli.policy.environment import base_url_override
from routecli.policy.types import Model, Origin, Policy, PriceOverride, Provider
from routecli.values import frozen

TTL = 60.0  # seconds an answer (or a silence) is trusted; `route local serve` clears the cache
PROBE_TIMEOUT = 0.3  # seconds for the whole probe: loopback answers in milliseconds or not at all
LOOPBACK_TIMEOUT = 0.05  # to accept or refuse a connection on this machine (it takes microseconds)
LOCAL_TASKS = ("chat", "summarize", "extract")  # what a small local model is trusted with
DEFAULT_CONTEXT = 4096  # Ollama's default num_ctx (it silently truncates beyond it); used when a server is mute
STRONG_PARAMS_B = 30.0  # from this many billion parameters a local model counts as tier 2 ("everyday")
CACHE_NAME = "discovery.json"
CACHE_FORMAT = 1
_SKIP = re.compile(r"embed|rerank", re.IGNORECASE)  # listed by Ollama / LM Studio, but they cannot chat
_SIZE = re.compile(r"(?:(\d+)x)?(\d+(?:\.\d+)?)([bm])(?![a-z])", re.IGNORECASE)  # 3b, 0.5B, 135M, 8x7b
_ZERO = PriceOverride(Decimal(0), Decimal(0), Decimal(0))


@frozen(eq=False)
class Discovery:
    """What answered: the models found, and per provider the base URL that answered."""

    models: tuple[Model, ...] = ()
    base_urls: dict[str, str] = field(default_factory=dict)
    silent: frozenset[str] = frozenset()  # providers asked that did not answer
    from_cache: bool = False  # True when no probe was made this run

    @property
    def providers(self) -> frozenset[str]:
        """The local providers that answered: available without --local or <NAME>_BASE_URL."""
        return frozenset(self.base_urls)


def enabled() -> bool:
    return os.environ.get("ROUTE_DISCOVER", "1").strip().lower() not in ("0", "false", "no", "off")


def targets(provider: Provider) -> list[str]:
    """The base URLs to ask, in order of preference."""
    override = base_url_override(provider)
    if override:  # the user named the server: ask that one only
        return [override.rstrip("/")]
    return list(provider.probe) or [provider.base_url.rstrip("/")]


def _remote_servers(policy: Policy) -> set[tuple[str, int | None]]:
    """Where the remote providers are served (after <NAME>_BASE_URL). A gateway or proxy on loopback that
    route already knows as OpenAI, say, is that provider, not a free local model to probe for (a server
    the user names with the local provider's own <NAME>_BASE_URL is still asked)."""
    return {
        _host_port(base_url_override(p) or p.base_url)
        for p in policy.providers.values()
        if not p.local
    }


def _host_port(url: str) -> tuple[str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in ("localhost", "::1", "0.0.0.0"):
        host = "127.0.0.1"
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return host, port


def discover(
    policy: Policy, paths: Paths, *, refresh: bool = False, recheck_silent: bool = False, now: float | None = None
) -> Discovery:
    """The local models that answer right now (from the cache when it is fresh). Never raises.
    `recheck_silent` probes again when the cache says a wanted server was silent (for --local, where a
    server started in the last minute must not be reported as missing)."""
    taken = _remote_servers(policy)
    wanted = {
        p.name: [url for url in targets(p) if _host_port(url) not in taken or base_url_override(p)]
        for p in policy.providers.values()
        if p.local and p.discover
    }
    wanted = {name: urls for name, urls in wanted.items() if urls}
    if not wanted or not enabled():
        return Discovery()
    now = time.time() if now is None else now
    cache_file = paths.cache_dir / CACHE_NAME
    key = json.dumps(wanted, sort_keys=True)  # new probe lists or a new <NAME>_BASE_URL: probe again
    servers = None if refresh else _load_cache(cache_file, key, now)
    if servers is not None and recheck_silent and set(wanted) - set(servers):
        servers = None
    from_cache = servers is not None
    if servers is None:
        servers = probe(wanted, PROBE_TIMEOUT)
        _save_cache(cache_file, key, now, servers)
    models: list[Model] = []
    for provider, server in servers.items():
        if provider in policy.providers:
            models += [_model(provider, server["base_url"], entry) for entry in server["models"]]
    base_urls = {name: server["base_url"] for name, server in servers.items() if name in policy.providers}
    return Discovery(tuple(models), base_urls, frozenset(wanted) - frozenset(base_urls), from_cache)


def with_discovered(policy: Policy, found: Discovery) -> Policy:
    """A new Policy with the discovered models added and their providers pointed at the server that answered.

    The server's list is the truth for its provider: a model of the policy that the server does not list
    is dropped from the tasks' candidates (it would only fail with 404 first), unless that empties a task.
    A discovered model that the policy already names (same provider and id) keeps the policy's entry.
    Models of servers that did not answer go after the discovered ones: at equal (zero) cost the router
    keeps the policy's order, and `--local` should not try a silent server first. They stay, as a fallback
    and so that `route explain` still shows them.
    """
    named = {p.name for p in policy.providers.values() if base_url_override(p)}
    silent = policy.silent | (found.silent - named)  # a server the user named is tried all the same
    if not found.base_urls:
        return replace(policy, silent=silent) if silent != policy.silent else policy
    providers = dict(policy.providers)
    for name, url in found.base_urls.items():
        providers[name] = replace(providers[name], base_url=url)
    served = {(m.provider, _same_id(m.model_id)) for m in found.models}
    known = {(m.provider, _same_id(m.model_id)) for m in policy.models.values()}
    models = dict(policy.models)
    added: list[Model] = []
    for model in found.models:
        if (model.provider, _same_id(model.model_id)) not in known and model.alias not in models:
            models[model.alias] = model
            added.append(model)
    missing = {
        alias
        for alias, m in policy.models.items()
        if m.provider in found.base_urls
        and m.provider not in named  # the user pointed route at that server: keep what the policy says
        and (m.provider, _same_id(m.model_id)) not in served
    }
    tasks = {}
    for name, task in policy.tasks.items():
        candidates = [a for a in task.candidates if a not in missing]
        if name in LOCAL_TASKS:
            late = [a for a in candidates if policy.models[a].provider in found.silent]
            candidates = [a for a in candidates if a not in late]
            candidates += [m.alias for m in added if name in m.strengths] + late
        fallbacks = tuple(a for a in task.fallbacks if a not in missing)
        tasks[name] = replace(task, candidates=tuple(candidates) or task.candidates, fallbacks=fallbacks)
    return replace(
        policy,
        providers=providers,
        models=models,
        tasks=tasks,
        discovered=policy.discovered | found.providers,
        silent=silent,
    )


def apply(policy: Policy, paths: Paths, *, local_only: bool = False) -> Policy:
    """discover + with_discovered: what a command that routes or lists models calls after load_policy."""
    return with_discovered(policy, discover(policy, paths, recheck_silent=local_only))


def invalidate(paths: Paths) -> None:
    """Forget cached answers, e.g. right after starting a server, so the next run probes again."""
    with contextlib.suppress(OSError):  # a cache we cannot remove only delays discovery by TTL
        (paths.cache_dir / CACHE_NAME).unlink()


# --- Turning a listed model into a policy Model -----------------------------------------------------------


def _model(provider: str, base_url: str, entry: dict[str, Any]) -> Model:
    model_id = str(entry["id"])
    params = entry.get("params_b") or params_from_name(model_id)
    strong = params is not None and params >= STRONG_PARAMS_B
    context = int(entry.get("context") or DEFAULT_CONTEXT)
    return Model(
        alias=f"{provider}/{_short(model_id)}",
        provider=provider,
        model_id=model_id,
        context=context,
        max_output=max(min(4096, context // 4), 1),  # leave most of a small window to the prompt
        speed="standard" if strong else "fast",
        tier=2 if strong else 1,
        strengths=LOCAL_TASKS,
        price=_ZERO,
        price_ref=None,
        timeouts=None,
        origin=Origin(f"discovered at {base_url}/models", 0),
    )


def params_from_name(name: str) -> float | None:
    """Billions of parameters from a name such as llama3.2:3b, qwen2.5-0.5b, SmolLM2-135M, mixtral:8x7b."""
    sizes = [
        float(size) * (int(experts) if experts else 1) / (1000 if unit.lower() == "m" else 1)
        for experts, size, unit in _SIZE.findall(name)
    ]
    return max(sizes) if sizes else None  # qwen3-30b-a3b: the total (30), not the active (3)


def _short(model_id: str) -> str:
    """llama-server may list a file path as the id: keep the file name, without .gguf."""
    if model_id.endswith(".gguf") or model_id.startswith(("/", "./", "~")):
        return Path(model_id).name.removesuffix(".gguf")
    return model_id


def _same_id(model_id: str) -> str:
    """Ollama's `llama3.2` is `llama3.2:latest`."""
    return model_id if ":" in model_id else model_id + ":latest"


# --- Probing ----------------------------------------------------------------------------------------------


def probe(wanted: dict[str, list[str]], timeout: float = PROBE_TIMEOUT) -> dict[str, dict[str, Any]]:
    """Ask every URL at once; per provider keep the first URL (in its order) that listed models."""
    urls = list(dict.fromkeys(url for group in wanted.values() for url in group))
    urls = [url for url in urls if not _refused_on_loopback(url)]
    if not urls:
        return {}
    import threading

    import httpx2  # noqa: F401 - imported before the clock starts: the time is the servers' to answer in

    answers: dict[str, list[dict[str, Any]]] = {}
    deadline = time.monotonic() + timeout

    def ask(url: str) -> None:
        listed = _list_models(url, deadline)
        if listed is not None:
            answers[url] = listed

    # Daemon threads: one still waiting at the deadline is abandoned, never waited for.
    threads = [threading.Thread(target=ask, args=(url,), daemon=True) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    found = dict(answers)  # a snapshot: late threads may still write
    servers: dict[str, dict[str, Any]] = {}
    for provider, group in wanted.items():
        url = next((u for u in group if u in found), None)
        if url is not None:
            servers[provider] = {"base_url": url, "models": found[url]}
    return servers


def _list_models(base_url: str, deadline: float) -> list[dict[str, Any]] | None:
    """GET <base>/models as [{id, context, params_b}], or None if nothing OpenAI-like answered."""
    body = _get_json(base_url + "/models", deadline)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return None
    entries = [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str) and not _SKIP.search(m["id"])]
    llama_cpp = any(m.get("owned_by") == "llamacpp" or isinstance(m.get("meta"), dict) for m in entries)
    # llama-server: the context it was started with (what it will accept) is in /props; the model's
    # trained context in /v1/models meta is only an upper bound.
    n_ctx = _llama_cpp_context(base_url, deadline) if llama_cpp else None
    models = []
    for m in entries:
        meta = m.get("meta") if isinstance(m.get("meta"), dict) else {}
        n_params = meta.get("n_params")
        models.append(
            {
                "id": m["id"],
                "context": _positive(n_ctx) or _positive(meta.get("n_ctx")) or _positive(meta.get("n_ctx_train")),
                "params_b": n_params / 1e9 if isinstance(n_params, (int, float)) and n_params > 0 else None,
            }
        )
    return models


def _llama_cpp_context(base_url: str, deadline: float) -> int | None:
    root = base_url.removesuffix("/v1")
    props = _get_json(root + "/props", deadline)
    settings = props.get("default_generation_settings") if isinstance(props, dict) else None
    return _positive(settings.get("n_ctx")) if isinstance(settings, dict) else None


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _refused_on_loopback(url: str) -> bool:
    """True when the URL is on this machine and nothing accepts a connection there: the usual case (no
    local server started), settled in well under a millisecond without threads or the HTTP client."""
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return False  # let the HTTP client say what is wrong with it
    if port is None or host not in ("127.0.0.1", "localhost", "::1"):
        return False
    try:
        # A bytes host skips the IDNA codec that a str host would import (~3 ms) for an ASCII name.
        socket.create_connection((host.encode("ascii"), port), timeout=LOOPBACK_TIMEOUT).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False  # slow or odd: leave it to the probe proper, bounded by its deadline
    return False


def _get_json(url: str, deadline: float) -> Any:
    """GET a small JSON document with whatever time is left; None for any failure."""
    import httpx2  # route's one HTTP client; only when a probe is due and a local server is listening

    left = deadline - time.monotonic()
    if left <= 0:
        return None
    try:
        with httpx2.Client(timeout=left, trust_env=False) as client, client.stream(
            "GET", url, headers={"accept": "application/json"}
        ) as resp:
            if resp.status_code != 200:
                return None
            body = b""
            for chunk in resp.iter_bytes():
                body += chunk
                if len(body) > 4_000_000:  # a model list is small; never read a huge body
                    return None
            return json.loads(body)
    except (httpx2.HTTPError, OSError, ValueError):
        return None


# --- The cache --------------------------------------------------------------------------------------------


def _load_cache(path: Path, key: str, now: float) -> dict[str, dict[str, Any]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("key") != key:
        return None
    at = data.get("time")
    if not isinstance(at, (int, float)) or not (at <= now < at + TTL):  # stale, or written "in the future"
        return None
    servers = data.get("servers")
    return servers if _well_formed(servers) else None


def _well_formed(servers: Any) -> bool:
    """The shape `probe` writes, so a damaged cache file is probed again rather than trusted."""
    return isinstance(servers, dict) and all(
        isinstance(server, dict)
        and isinstance(server.get("base_url"), str)
        and isinstance(server.get("models"), list)
        and all(isinstance(m, dict) and isinstance(m.get("id"), str) for m in server["models"])
        for server in servers.values()
    )


def _save_cache(path: Path, key: str, now: float, servers: dict[str, dict[str, Any]]) -> None:
    """Best effort and atomic: parallel `route` runs may race; the last complete file wins."""
    with contextlib.suppress(OSError):
        write_private(path, json.dumps({"format": CACHE_FORMAT, "key": key, "time": now, "servers": servers}))
