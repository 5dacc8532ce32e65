"""Shell completion: the committed scripts are what the generator makes, and a real bash completes values
from the active policy (default, user policy, $ROUTE_POLICY, --policy) through them."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, _clean_env

from routecli.cli.completion import FILE_NAMES, SHELLS, complete_group, complete_model, script

DEFAULT_ALIASES = {
    "claude-haiku", "claude-sonnet", "claude-opus", "mistral-small", "mistral-medium", "mistral-large",
    "codestral", "kimi-k2", "kimi-k2-thinking", "gpt-mini", "gpt", "gemini-flash", "gemini-pro", "local",
}
TASKS = {"chat", "summarize", "code", "reasoning", "creative", "extract", "safety"}
USER_POLICY = """\
models:
  my-finetune:
    provider: openai
    id: ft:gpt-5-mini:acme
    context: 128000
    max_output: 16000
    tier: 2
profiles:
  thrifty: {max_cost_per_request: 0.01}
"""


# --- the committed scripts -------------------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_scripts_are_what_the_generator_makes(shell):
    committed = (REPO / "completions" / FILE_NAMES[shell]).read_text(encoding="utf-8")
    stale = f"completions/{FILE_NAMES[shell]} is stale: run `route completion --write completions`"
    assert committed == script(shell), stale


def test_completion_command_prints_and_writes_the_same_scripts(route, tmp_path):
    for shell in SHELLS:
        result = route("completion", shell)
        assert result.returncode == 0, result.stderr
        assert result.stdout == script(shell)
    result = route("completion", "--write", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for shell in SHELLS:
        assert (tmp_path / "out" / FILE_NAMES[shell]).read_text(encoding="utf-8") == script(shell)
    bad = route("completion", "tcsh")
    assert bad.returncode == 2 and "bash, zsh, fish" in bad.stderr and bad.stdout == ""



def test_typer_completion_options_are_gone(route, home):
    """One completion system: `route completion`. Typer's --install-completion edited ~/.bashrc unasked."""
    assert "--install-completion" not in route("--help").stdout and "--show-completion" not in route("--help").stdout
    for option in ("--install-completion", "--show-completion"):
        result = route(option, env={"SHELL": "/bin/bash", "HOME": str(home)})
        assert result.returncode == 2 and "No such option" in result.stderr, result
    assert not (home / ".bashrc").exists()

# --- a real bash ---------------------------------------------------------------------------------------


@pytest.fixture
def shell_env(home: Path, tmp_path: Path) -> dict[str, str]:
    """The test's environment with `route` on PATH: a two-line wrapper around this checkout's CLI that calls
    itself `route`, so Typer reads _ROUTE_COMPLETE as it does for the installed console script."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "route"
    code = "import sys; sys.argv[0] = 'route'; from routecli.cli import main; main()"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -c "{code}" "$@"\n', encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = _clean_env(home)
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.defpath}"
    return env


def bash_complete(env: dict[str, str], *words: str, cwd: Path | None = None) -> tuple[list[str], str]:
    """COMPREPLY for `route WORDS...` (the last word is the one being completed) in a fresh bash."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    line = " ".join(("route", *words))
    program = "\n".join([
        f"source {shlex.quote(str(REPO / 'completions' / 'route.bash'))}",
        f"COMP_WORDS=(route {' '.join(shlex.quote(w) for w in words)})",
        f"COMP_CWORD={len(words)}",
        f"COMP_LINE={shlex.quote(line)}",
        "COMP_POINT=${#COMP_LINE}",
        f"_route_completion route {shlex.quote(words[-1])} {shlex.quote(words[-2] if len(words) > 1 else 'route')}",
        "printf '%s\\n' \"${COMPREPLY[@]}\"",
    ])
    proc = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", program], env=env, capture_output=True, text=True, timeout=60, cwd=cwd
    )
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line], proc.stderr


@pytest.mark.process
def test_bash_completes_model_aliases(shell_env):
    found, errors = bash_complete(shell_env, "ask", "-m", "")
    assert set(found) == DEFAULT_ALIASES, found
    assert errors == ""
    found, _ = bash_complete(shell_env, "explain", "--model", "kimi")
    assert set(found) == {"kimi-k2", "kimi-k2-thinking"}
    found, _ = bash_complete(shell_env, "eval", "--vs", "kimi")  # route eval's baseline model
    assert set(found) == {"kimi-k2", "kimi-k2-thinking"}
    assert set(bash_complete(shell_env, "eval", "--profile", "")[0]) == {"cheap", "balanced", "best"}
    assert bash_complete(shell_env, "repl")[0] == ["replay"] and "eval" in bash_complete(shell_env, "e")[0]


@pytest.mark.process
def test_bash_completes_tasks_profiles_and_groups(shell_env):
    assert set(bash_complete(shell_env, "ask", "--task", "")[0]) == TASKS
    assert set(bash_complete(shell_env, "summarize", "--profile", "")[0]) == {"cheap", "balanced", "best"}
    assert set(bash_complete(shell_env, "costs", "--by", "")[0]) == {
        "day", "model", "provider", "task", "profile", "status", "command", "user", "host", "tag"
    }
    after_comma = bash_complete(shell_env, "costs", "--by", "day,pro")[0]
    assert set(after_comma) == {"day,provider", "day,profile"}
    assert bash_complete(shell_env, "doc")[0] == ["doctor"]  # commands still complete


@pytest.mark.process
def test_user_policy_values_show_up(shell_env, home, tmp_path):
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "routes.yaml").write_text(USER_POLICY)
    found, _ = bash_complete(shell_env, "ask", "-m", "")
    assert "my-finetune" in found and set(found) >= DEFAULT_ALIASES
    assert "thrifty" in bash_complete(shell_env, "ask", "-p", "")[0]


@pytest.mark.process
def test_route_policy_env_and_policy_option_are_respected(shell_env, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text(USER_POLICY)
    assert "my-finetune" not in bash_complete(shell_env, "ask", "-m", "")[0]
    assert "my-finetune" in bash_complete({**shell_env, "ROUTE_POLICY": str(mine)}, "ask", "-m", "")[0]
    # --policy typed earlier on the same line is the policy the command will run with
    assert bash_complete(shell_env, "ask", "--policy", str(mine), "-m", "my")[0] == ["my-finetune"]


@pytest.mark.process
def test_broken_policy_completes_nothing_quietly(shell_env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [unclosed\n")
    found, errors = bash_complete({**shell_env, "ROUTE_POLICY": str(bad)}, "ask", "-m", "")
    assert found == [] and "Traceback" not in errors
    found, errors = bash_complete({**shell_env, "ROUTE_POLICY": str(tmp_path / "missing.yaml")}, "ask", "-t", "")
    assert found == [] and "Traceback" not in errors


# --- zsh and fish speak the same protocol (their shells need not be installed to test it) ----------------


@pytest.mark.process
def test_zsh_and_fish_protocols_carry_values_and_descriptions(shell_env):
    zsh = subprocess.run(
        ["route"],
        env={**shell_env, "_ROUTE_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "route ask -m claude-"},
        capture_output=True, text=True, timeout=60,
    )
    assert zsh.returncode == 0, zsh.stderr
    assert zsh.stdout.startswith("_arguments") and '"claude-haiku":"anthropic' in zsh.stdout
    assert "mistral" not in zsh.stdout
    fish = subprocess.run(
        ["route"],
        env={
            **shell_env,
            "_ROUTE_COMPLETE": "complete_fish",
            "_TYPER_COMPLETE_FISH_ACTION": "get-args",
            "_TYPER_COMPLETE_ARGS": "route ask --profile ",
        },
        capture_output=True, text=True, timeout=60,
    )
    assert fish.returncode == 0, fish.stderr
    values = dict(line.split("\t", 1) for line in fish.stdout.splitlines())
    assert set(values) == {"cheap", "balanced", "best"}
    assert "default" in values["balanced"]


# --- the functions themselves --------------------------------------------------------------------------


def test_completion_functions_never_raise(home, monkeypatch, tmp_path):
    assert {alias for alias, _ in complete_model(None, "")} == DEFAULT_ALIASES
    monkeypatch.setenv("ROUTE_POLICY", str(tmp_path / "missing.yaml"))
    assert complete_model(None, "") == []
    assert complete_model(object(), "x") == []  # a context without params is fine too
    assert [v for v, _ in complete_group(None, "model,day,")] == [
        "model,day,provider", "model,day,task", "model,day,profile", "model,day,status", "model,day,command",
        "model,day,user", "model,day,host", "model,day,tag",
    ]


@pytest.mark.process
def test_bash_completes_conversation_ids(shell_env, route, fake_provider):
    from conftest import provider_env

    route("ask", "my name is Zed", env=provider_env(fake_provider))
    [kept] = route("log", "--json").json()
    assert bash_complete(shell_env, "ask", "--cid", "")[0] == [kept["cid"]]
    assert bash_complete(shell_env, "log", "--cid", kept["cid"][:10])[0] == [kept["cid"]]
    assert bash_complete(shell_env, "chat", "--cid", "zz")[0] == []
