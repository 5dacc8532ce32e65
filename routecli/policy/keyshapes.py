"""What an API key looks like, and the one way a text holding one is shown or stored: each key replaced by its
mask (`sk-…a1b2`). Every renderer scrubs through it (ui/policy_view.scrub), and so does a model id that is, by
mistake, a key pasted into `id:` (`Model.shown_id`): the provider still gets the id as written, but the decision,
the attempts (`--json`, the ledger, the history and every report read from them) and the panel carry the mask."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from routecli.policy.environment import mask

# Shapes of API keys seen in the wild; the last is any long run of letters and digits (Mistral's keys).
KEY_SHAPES = re.compile(
    r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{16,}"
    r"|\bAIza[0-9A-Za-z_\-]{30,}"
    r"|\b(?:gsk|xai|hf|ghp|gho|github_pat|glpat)[_-][A-Za-z0-9_\-]{16,}"
    r"|(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{32,}(?![A-Za-z0-9])"
)


def mask_keys(text: str) -> str:
    """`text` with anything shaped like a key replaced by its mask."""
    return KEY_SHAPES.sub(lambda m: mask(m.group(0)), text)


@lru_cache(maxsize=512)
def shown_model_id(model_id: str) -> str:
    """A model id as shown and recorded: the id itself, or masked where it holds something shaped like a key
    (every decision asks this for each model: a policy's few ids are scanned once)."""
    return mask_keys(model_id)


def held_for_masking(keys: Iterable[str], shortest: int = 8) -> tuple[str, ...]:
    """The keys route holds, longest first (a key inside another is masked after it), without ones too short
    to tell from ordinary words."""
    return tuple(sorted({key for key in keys if len(key) >= shortest}, key=len, reverse=True))


def mask_held(text: str, held: Sequence[str]) -> str:
    """`text` with every key route holds replaced by its mask, whatever its shape: what is written to disk
    (the history, a logged prompt) never holds one, though the provider got the text as the user sent it."""
    for key in held:
        if key in text:
            text = text.replace(key, mask(key))
    return text
