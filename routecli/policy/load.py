"""Finding and loading the policy: the packaged default, the user's file merged over it, and a cache of the result.

Every mistake is a PolicyError naming the file and line that caused it. Nothing here imports an SDK or touches the
network; prices are attached later by `prices.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import replace
from pathlib import Path

from routecli.errors import PolicyError
from routecli.paths import write_private
from routecli.policy.build import build_policy
from routecli.policy.fingerprint import raw_hash
from routecli.policy.located import LineDict, decode_hook, encode
from routecli.policy.merge import merge_policies
from routecli.policy.problems import Problems
from routecli.policy.regex_cache import RegexCache
from routecli.policy.schema import read_policy_file
from routecli.policy.types import Policy


def default_policy_path() -> Path:
    """routes.yaml ships inside the package (wheel); in a source checkout it sits at the repo root."""
    package = Path(__file__).resolve().parent.parent  # routecli/
    packaged = package / "routes.yaml"
    return packaged if packaged.exists() else package.parent / "routes.yaml"


def user_policy_path(explicit: str | None, config_dir: Path) -> Path | None:
    """--policy, then $ROUTE_POLICY, then ./routes.yaml (once trusted), then the config dir's routes.yaml."""
    for candidate, must_exist in ((explicit, True), (os.environ.get("ROUTE_POLICY"), True)):
        if candidate:
            path = Path(candidate).expanduser()
            if must_exist and not path.is_file():
                raise PolicyError(str(path), None, "policy file not found")
            return path
    local = untrusted_local_policy(config_dir)
    for path in (Path("routes.yaml"), config_dir / "routes.yaml"):
        if path.is_file() and path != local:
            return path
    return None


def untrusted_local_policy(config_dir: Path) -> Path | None:
    """A ./routes.yaml that is not applied because it was never trusted (or changed since): see trust.py."""
    from routecli.policy.trust import is_trusted

    path = Path("routes.yaml")
    if not path.is_file() or same_file(path, config_dir / "routes.yaml"):
        return None
    return None if is_trusted(path, config_dir, default_policy_path()) else path


def active_policy_paths(explicit: str | None, config_dir: Path) -> list[Path]:
    """The files the policy in effect is made of: the default, then the user's (if any)."""
    default_path = default_policy_path()
    user_path = user_policy_path(explicit, config_dir)
    return [default_path] if user_path is None or same_file(user_path, default_path) else [default_path, user_path]


def validate_active(explicit: str | None, config_dir: Path) -> tuple[list[Path], Policy]:
    """The policy in effect, read afresh (not from the cache) and checked: its files and the result."""
    paths = active_policy_paths(explicit, config_dir)
    return paths, _read_and_build(paths)[1]


def load_policy(explicit: str | None, config_dir: Path, cache_dir: Path | None = None) -> Policy:
    """The default policy, with the user's policy (if any) merged over it.

    The merged, validated YAML is cached as JSON keyed by each file's path, size and mtime, so most
    runs skip PyYAML and the checks; any change to a file, or a new route version, rebuilds it. Its
    regular expressions are kept compiled beside it (regex_cache.py).
    """
    paths = active_policy_paths(explicit, config_dir)
    sources = tuple(str(p) for p in paths)
    key = _cache_key(paths)
    cache_file = cache_dir / "policy.json" if cache_dir else None
    regexes = RegexCache(cache_dir / "policy.regex" if cache_dir else None)
    cached = _load_cached(cache_file, key) if cache_file and key else None
    if cached is not None:
        raw, fingerprint = cached
        policy = build_policy(raw, sources, regexes=regexes)
    else:
        raw, policy = _read_and_build(paths, regexes)  # validates: only a good policy is ever cached
        fingerprint = raw_hash(raw)
        if cache_file and key:
            _save_cached(cache_file, key, raw, fingerprint)
    regexes.save()
    return replace(policy, fingerprint=fingerprint)


def _read_and_build(paths: list[Path], regexes: RegexCache | None = None) -> tuple[LineDict, Policy]:
    """Read, merge and build the files (the default first), reporting every mistake in all of them at once."""
    problems = Problems()
    raw = read_policy_file(paths[0], problems)
    for path in paths[1:]:
        raw = merge_policies(raw, read_policy_file(path, problems), problems)
    return raw, build_policy(raw, tuple(str(p) for p in paths), problems, regexes)


def _cache_key(paths: list[Path]) -> str | None:
    from routecli import __version__

    try:
        stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    except OSError:
        return None
    return json.dumps([__version__, stats])


def _load_cached(cache_file: Path, key: str) -> tuple[LineDict, str] | None:
    """The merged policy and its fingerprint, if the cache holds them for exactly these files."""
    try:
        data = json.loads(cache_file.read_text(encoding="utf-8"), object_hook=decode_hook)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("raw"), LineDict):
        return None
    if not isinstance(data.get("hash"), str) or not data["hash"]:
        return None
    return data["raw"], data["hash"]


def _save_cached(cache_file: Path, key: str, raw: LineDict, fingerprint: str) -> None:
    with contextlib.suppress(OSError):  # a cache we cannot write only costs time
        write_private(cache_file, json.dumps({"key": key, "raw": encode(raw), "hash": fingerprint}))


def validate_file(path: Path) -> Policy:
    """Check one file on its own terms, merged over the default as it would be in use."""
    default_path = default_policy_path()
    return _read_and_build([default_path] if same_file(path, default_path) else [default_path, path])[1]


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False
