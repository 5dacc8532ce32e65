"""A short hash of the effective policy's content, recorded with each attempt: `route replay` tells the requests
decided under the current policy from those decided under another."""

from __future__ import annotations

import json
from typing import Any

from routecli.policy.types import Policy


def policy_hash(policy: Policy) -> str:
    """The merged policy as read (default + the user's), not the files' bytes: comments and order do not count.
    The loader caches it with the policy (`policy.fingerprint`), so most runs need not import hashlib (~5 ms)."""
    return policy.fingerprint or raw_hash(policy.raw)


def raw_hash(raw: dict[str, Any]) -> str:
    import hashlib

    text = json.dumps(raw, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
