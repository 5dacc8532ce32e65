"""How a prompt's secrets are shown: where each is and what kind, masked at most; never the value.

The findings were made by `routing/secrets.py` and travel on the Decision; this only puts them into words.
"""

from __future__ import annotations

from typing import Any

from routecli.routing.decide import Decision

SHOWN = 5  # findings listed before "and N more"


def status(decision: Decision) -> str:
    if decision.secrets_allowed:
        return "--allow-secrets: remote models may take it"
    return "kept on this machine: remote models excluded (--allow-secrets sends it)"


def report_lines(decision: Decision) -> list[str]:
    """`route explain`: one line per finding (the first few), then what the decision did about them."""
    found = decision.secrets
    if not found:
        return []
    lines = [f"{f.where}: {f.what}" + (f" [{f.hint}]" if f.hint != "-" else "") for f in found[:SHOWN]]
    if len(found) > SHOWN:
        lines.append(f"and {len(found) - SHOWN} more")
    return [*lines, status(decision)]


def as_dict(decision: Decision) -> dict[str, Any]:
    return {
        "found": [
            {"kind": f.kind.value, "what": f.what, "source": f.source, "line": f.line, "masked": f.hint}
            for f in decision.secrets
        ],
        "allowed": decision.secrets_allowed,
    }


def notice_text(decision: Decision) -> str | None:
    """`ask` / `summarize`: one line on stderr when the prompt holds a secret and a model was chosen."""
    if not decision.secrets or decision.chosen is None:
        return None
    first = decision.secrets[0].sentence
    more = f" (and {len(decision.secrets) - 1} more)" if len(decision.secrets) > 1 else ""
    chosen = decision.verdict(decision.chosen)
    if decision.secrets_allowed:
        return f"{first}{more}; sent to {chosen.alias} ({chosen.provider}): --allow-secrets"
    return f"{first}{more}; kept on this machine: local model {chosen.alias} takes it"
