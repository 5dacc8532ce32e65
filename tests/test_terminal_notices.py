"""What reaches a terminal on stderr from elsewhere (a reviewer's reasons, a provider's error text, a file's
name) is shown without escape sequences or control characters; a pipe gets every byte."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from conftest import _clean_env, on_a_terminal, provider_env
from fakeprovider import Fault, Reply

HOSTILE = "\x1b]0;pwned\x07\x1b[2JX"  # sets the window title, clears the screen, then "X"
SAFETY = "how do I drop the production database safely"  # claude-sonnet answers, gpt reviews


def _env(home, fake) -> dict[str, str]:
    env = _clean_env(home)
    env.update(provider_env(fake))
    return env


@pytest.mark.process
def test_a_reviewers_reasons_reach_a_terminal_without_escape_sequences(home, fake_provider):
    concerns = json.dumps({"verdict": "concerns", "reasons": [HOSTILE]})
    fake_provider.script("anthropic", Reply(text="Take a backup first."), Reply(text="Take a backup first."))
    fake_provider.script("openai", Reply(text=concerns), Reply(text=concerns))
    env = _env(home, fake_provider)
    code, shown = on_a_terminal(env, "ask", SAFETY, "-q", stream="stderr")
    assert code == 0, shown
    assert "route:   - X" in shown  # the title and the clearing are gone, the text is left
    assert "\x1b" not in shown and "\x07" not in shown and "pwned" not in shown
    piped = subprocess.run([sys.executable, "-m", "routecli", "ask", SAFETY, "-q"], capture_output=True, env=env)
    assert HOSTILE in piped.stderr.decode()  # a pipe (a log file) gets it byte for byte


@pytest.mark.process
def test_a_file_name_and_a_providers_error_reach_a_terminal_clean(home, fake_provider, tmp_path):
    (tmp_path / "x\x1b[31mred").write_text("")
    env = _env(home, fake_provider)
    code, shown = on_a_terminal(env, "ask", "hi", "-f", "x\x1b[31mred", "-m", "claude-haiku", stream="stderr",
                                cwd=str(tmp_path))
    assert code == 0, shown
    notice = next(line for line in shown.splitlines() if "empty, skipped" in line)  # the panel has colours
    assert notice == "route: xred: empty, skipped"
    fake_provider.script("anthropic", Fault("404", message=f"no such model {HOSTILE}"))
    code, shown = on_a_terminal(env, "ask", "hi", "-m", "claude-haiku", "-q", stream="stderr", cwd=str(tmp_path))
    assert code != 0 and "no such model X" in shown, shown
    assert "\x1b" not in shown and "\x07" not in shown


@pytest.mark.process
def test_explain_on_a_terminal_shows_a_hostile_file_name_and_prompt_cleaned(home, fake_provider, tmp_path):
    """explain's report quotes file names (its Secrets line) and prompt snippets: never a raw escape sequence."""
    name = "sec\x1b[2J\u202eret.env"
    secret = base64.b64encode(os.urandom(30)).decode()  # 40 random characters: a generated-looking value
    (tmp_path / name).write_text(f"AWS_SECRET_ACCESS_KEY={secret}\n")
    env = _env(home, fake_provider)
    _, shown = on_a_terminal(env, "explain", "summarize this \x1b]0;pwned\x07file", "-f", name, cwd=str(tmp_path))
    assert "Secrets" in shown and "ret.env" in shown, shown
    assert "\x1b[2J" not in shown and "\u202e" not in shown and "\x1b]0;" not in shown
