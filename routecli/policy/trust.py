"""Which policy files may change where a key is sent: the ones you wrote or named, and the ones you trusted.

The packaged default, the config dir's routes.yaml and a file named by `--policy` or `ROUTE_POLICY` are trusted.
A `routes.yaml` found in the working directory (a cloned repository's, say) could point a provider's base_url at
its own server and receive your key, so it is applied only once `route policy trust` has recorded its path and
content hash (as direnv and mise do); a changed file must be trusted again. Records live in the config dir.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from routecli.paths import write_private
from routecli.values import frozen

TRUST_FILE = "trusted-policies.json"
# What in a policy decides where a key goes: flagged by explain and doctor when a trusted local file sets it.
KEY_ROUTING_FIELDS = ("base_url", "key_env", "probe")


def content_hash(path: Path) -> str:
    return _sha256(path.read_bytes())


def _sha256(content: bytes) -> str:
    import hashlib  # ~5 ms (OpenSSL): only when a folder's policy has a trust record to check against

    return hashlib.sha256(content).hexdigest()


def same_as_default(path: Path, default: Path) -> bool:
    """A copy of the packaged default (route's own repository, a fresh `cp`) changes nothing: trusted as it is."""
    try:
        return path.stat().st_size == default.stat().st_size and path.read_bytes() == default.read_bytes()
    except OSError:
        return False


def _records(config_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((config_dir / TRUST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged record trusts nothing: the notice says how to trust again
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def is_trusted(path: Path, config_dir: Path, default: Path) -> bool:
    """True when `path` holds exactly what was trusted, or exactly the packaged default (it changes nothing).
    Hashed only when there is a record to compare with: a folder never trusted costs no hashing."""
    if same_as_default(path, default):
        return True
    recorded = _records(config_dir).get(str(path.resolve()))
    if recorded is None:
        return False
    try:
        return _sha256(path.read_bytes()) == recorded
    except OSError:
        return False


def trust(path: Path, config_dir: Path) -> str:
    records = _records(config_dir)
    digest = content_hash(path)
    records[str(path.resolve())] = digest
    write_private(config_dir / TRUST_FILE, json.dumps(records, indent=1, sort_keys=True))
    return digest


def untrust(path: Path, config_dir: Path) -> bool:
    records = _records(config_dir)
    if records.pop(str(path.resolve()), None) is None:
        return False
    write_private(config_dir / TRUST_FILE, json.dumps(records, indent=1, sort_keys=True))
    return True


def key_routing_changes(user_raw: dict[str, object]) -> list[str]:
    """`providers.NAME.FIELD` for every field of a user file that changes where a key is sent (a field written
    with the default policy's own value changes nothing: a copy of the default is not flagged)."""
    from routecli.policy.load import default_policy_path
    from routecli.policy.schema import read_policy_file

    providers = user_raw.get("providers") if isinstance(user_raw, dict) else None
    if not isinstance(providers, dict):
        return []
    defaults = read_policy_file(default_policy_path()).get("providers") or {}
    return [
        f"providers.{name}.{field}"
        for name, entry in providers.items()
        if isinstance(entry, dict)
        for field in KEY_ROUTING_FIELDS
        if field in entry and entry[field] != (defaults.get(name) or {}).get(field, _UNSET)
    ]


_UNSET = object()  # a field the default provider does not have: any value of it is a change


@frozen
class FolderPolicy:
    """What to tell the user about ./routes.yaml: ignored until trusted, or trusted and redirecting keys."""

    ignored: Path | None = None
    key_routing: tuple[str, ...] = ()


def folder_policy(
    sources: tuple[str, ...], config_dir: Path, named: bool, cache_dir: Path | None = None
) -> FolderPolicy:
    """For explain, ask and doctor alike. Nothing to say when the user named a policy file (`--policy`,
    ROUTE_POLICY): ./routes.yaml is not read then."""
    from routecli.policy.load import untrusted_local_policy

    if named:
        return FolderPolicy()
    ignored = untrusted_local_policy(config_dir)
    if ignored is not None:
        return FolderPolicy(ignored=ignored)
    local = Path("routes.yaml")
    if len(sources) > 1 and Path(sources[-1]) == local and not same_as_default(local, Path(sources[0])):
        return FolderPolicy(key_routing=_key_routing_of(local, cache_dir))
    return FolderPolicy()


def _key_routing_of(local: Path, cache_dir: Path | None) -> tuple[str, ...]:
    """key_routing_changes of a trusted folder file, kept per file (path, size, mtime): finding them parses the
    file and the default with PyYAML, ~30 ms that every run in that folder would pay again."""
    from routecli.policy.load import default_policy_path
    from routecli.policy.schema import read_policy_file

    try:  # the answer compares the file with the default policy: both are in the key
        key = [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in (local, default_policy_path())]
    except OSError:
        key = None
    memo = cache_dir / "folder-policy.json" if cache_dir is not None and key is not None else None
    if memo is not None:
        try:
            data = json.loads(memo.read_text(encoding="utf-8"))
            if data.get("key") == key and all(isinstance(item, str) for item in data.get("fields", [None])):
                return tuple(data["fields"])
        except (OSError, ValueError, AttributeError):
            pass  # no memo, or a damaged one: found again below
    fields = tuple(key_routing_changes(read_policy_file(local)))
    if memo is not None:
        with contextlib.suppress(OSError):  # a memo that cannot be written only costs time
            write_private(memo, json.dumps({"key": key, "fields": list(fields)}))
    return fields

