"""Shell completion: values from the active policy, and the bash / zsh / fish scripts that ask for them.

The scripts are Typer's own: on Tab the shell runs `route` with `_ROUTE_COMPLETE=complete_<shell>`, Typer
parses the partial command line and calls the `complete_*` functions below for the option being completed.
That is a new process per Tab press, so this module imports nothing heavy at load time (cli.py imports it
for every command) and the functions read the policy through its JSON cache. They never raise: a broken
policy or an unreadable config completes nothing rather than spilling a traceback into the user's shell.

    python -m routecli.completion --write completions/    # regenerate the committed scripts
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from routecli.policy.types import Policy

PROG_NAME = "route"
COMPLETE_VAR = "_ROUTE_COMPLETE"
SHELLS = ("bash", "zsh", "fish")
FILE_NAMES = {shell: f"{PROG_NAME}.{shell}" for shell in SHELLS}

Completion = tuple[str, str]  # (value, help): zsh and fish show the help, bash only the value



def register_protocol() -> None:
    """Typer registers the protocol its scripts speak (`_ROUTE_COMPLETE=complete_bash`) only along with its own
    --install-completion / --show-completion options, which route does not add (the first edited ~/.bashrc
    unasked; `route completion` is the one way in): register it when a shell asks for completions."""
    import os

    if os.environ.get(COMPLETE_VAR):
        from typer.completion import completion_init

        completion_init()


# ----------------------------------------------------------------------------- values for options


def _policy(ctx: Any) -> Policy | None:
    """The policy the completed command would use: --policy if already typed, else the usual search."""
    try:
        from routecli.paths import get_paths
        from routecli.policy.load import load_policy

        params = getattr(ctx, "params", None) or {}
        explicit = params.get("policy")
        paths = get_paths()
        return load_policy(explicit if isinstance(explicit, str) and explicit else None, paths.config_dir,
                           paths.cache_dir)
    except Exception:  # completion must never fail loudly: no policy, no suggestions
        return None


def _clean(text: str) -> str:
    # zsh's _arguments spec breaks on brackets and parentheses; Typer renders help as Rich markup.
    return " ".join(text.replace("(", "").replace(")", "").replace("[", "").replace("]", "").split())


def complete_model(ctx: Any, incomplete: str) -> list[Completion]:
    """Model aliases for -m/--model."""
    try:
        policy = _policy(ctx)
        if policy is None:
            return []
        return [
            (alias, _clean(f"{m.provider} {m.shown_id}, tier {m.tier}, {m.speed}"))
            for alias, m in policy.models.items()
            if alias.startswith(incomplete)
        ]
    except Exception:
        return []


def complete_task(ctx: Any, incomplete: str) -> list[Completion]:
    """Task names for --task (only tasks the policy can route)."""
    try:
        policy = _policy(ctx)
        if policy is None:
            return []
        return [
            (name, _clean("candidates: " + ", ".join(task.candidates)))
            for name, task in policy.tasks.items()
            if name.startswith(incomplete)
        ]
    except Exception:
        return []


def complete_profile(ctx: Any, incomplete: str) -> list[Completion]:
    """Profile names for --profile."""
    from routecli.policy.prices import money

    try:
        policy = _policy(ctx)
        if policy is None:
            return []
        result = []
        for name, profile in policy.profiles.items():
            if not name.startswith(incomplete):
                continue
            cap = profile.max_cost_per_request
            parts = [f"max {money(cap, 2)}/request" if cap is not None else "no cost cap"]
            if profile.tier_shift:
                parts.append(f"tier {profile.tier_shift:+d}")
            parts.append(f"prefers {profile.prefer}")
            if name == policy.default_profile:
                parts.append("default")
            result.append((name, _clean(", ".join(parts))))
        return result
    except Exception:
        return []


def complete_group(ctx: Any, incomplete: str) -> list[Completion]:
    """Group names for `costs --by`; the option takes `day,model` too, so complete after the last comma."""
    try:
        from routecli.ledger.reports import GROUPS

        head, _, tail = incomplete.rpartition(",")
        chosen = set(head.split(",")) if head else set()
        prefix = f"{head}," if head else ""
        return [(prefix + name, "") for name in GROUPS if name.startswith(tail) and name not in chosen]
    except Exception:
        return []


def complete_cooling(ctx: Any, incomplete: str) -> list[Completion]:
    """For `cooldowns clear`: the models and providers cooling down now (a small JSON file; no policy needed)."""
    try:
        from routecli.ledger import cooldowns
        from routecli.paths import get_paths

        found = []
        for key, entry in cooldowns.load(get_paths().cooldowns).items():
            kind, name = cooldowns.scope(key)
            if name.startswith(incomplete):
                found.append((name, _clean(f"{kind} cooling down after {entry.reason}")))
        return found
    except Exception:
        return []


def complete_conversation(ctx: Any, incomplete: str) -> list[Completion]:
    """Recent conversation ids for --cid, newest first, each with its latest prompt as the help."""
    try:
        from routecli.history.keep import open_to_read
        from routecli.paths import get_paths

        history, _ = open_to_read(get_paths().history)
        with history:
            latest: dict[str, str] = {}
            for exchange in reversed(history.recent(200)):
                if exchange.cid.startswith(incomplete.lower()):
                    latest.setdefault(exchange.cid, _clean(exchange.prompt)[:60])
        return list(latest.items())
    except Exception:  # a damaged or missing history completes nothing
        return []


# ----------------------------------------------------------------------------- the shell scripts

_HEADERS = {
    "bash": (
        "# bash completion for route (generated by `route completion bash`; do not edit).\n"
        "# Install: source this file from ~/.bashrc, or copy it to\n"
        "# ~/.local/share/bash-completion/completions/route\n"
    ),
    # zsh reads `#compdef` only on the first line, so the header goes after it.
    "zsh": (
        "# zsh completion for route (generated by `route completion zsh`; do not edit).\n"
        "# Install: source this file from ~/.zshrc after `autoload -Uz compinit && compinit`.\n"
    ),
    "fish": (
        "# fish completion for route (generated by `route completion fish`; do not edit).\n"
        "# Install: copy to ~/.config/fish/completions/route.fish\n"
    ),
}


def script(shell: str) -> str:
    """The completion script for `shell`, from Typer's own templates, for the program `route`."""
    from typer._completion_shared import get_completion_script

    if shell not in SHELLS:
        raise ValueError(f"unsupported shell {shell!r}; expected one of {', '.join(SHELLS)}")
    body = get_completion_script(prog_name=PROG_NAME, complete_var=COMPLETE_VAR, shell=shell)
    if shell == "zsh":
        first, _, rest = body.partition("\n")
        return f"{first}\n{_HEADERS[shell]}{rest}\n"
    return f"{_HEADERS[shell]}\n{body}\n"


def write_scripts(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shell in SHELLS:
        path = directory / FILE_NAMES[shell]
        path.write_text(script(shell), encoding="utf-8")
        written.append(path)
    return written


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write":
        for path in write_scripts(Path(argv[1])):
            print(path)
        return 0
    if len(argv) == 1 and argv[0] in SHELLS:
        sys.stdout.write(script(argv[0]))
        return 0
    sys.stderr.write(f"usage: python -m routecli.completion ({'|'.join(SHELLS)} | --write DIR)\n")
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
