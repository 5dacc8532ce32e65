"""A short hash of the effective policy's content, recorded with each attempt: `route replay` tells the requests
decided under the current policy from those decided under another."""

from __future__ import annotations

import hashlib
import json

from routecli.policy.types import Policy


def policy_hash(policy: Policy) -> str:
    """The merged policy as read (default + the user's), not the files' bytes: comments and order do not count."""
    text = json.dumps(policy.raw, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
