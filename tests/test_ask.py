"""`route ask` / `route summarize` end to end: the real SDKs against the fake provider, through the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from conftest import _clean_env, provider_env
from fakeprovider import Fault, Reply, closed_port

GREETING = "hello there!"  # chat: claude-haiku first, then mistral-medium


# --- each protocol: text intact on stdout, usage from the provider's own fields ---------------------------

PROTOCOLS = [
    ("anthropic", "claude-haiku"),
    ("mistral", "mistral-medium"),
    ("openai", "gpt-mini"),
    ("moonshot", "kimi-k2"),
    ("gemini", "gemini-flash"),
]


@pytest.mark.parametrize(("flavor", "alias"), PROTOCOLS)
def test_each_protocol_streams_text_and_reads_usage(route, fake_provider, flavor, alias):
    text = f"Première ligne de {flavor}.\nSecond line — with ünïcödé and emoji 🎉.\n"
    fake_provider.script(flavor, Reply(text=text, chunks=7, input_tokens=1234, output_tokens=56, cached_tokens=200))
    result = route("ask", "say something", "-m", alias, env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == text  # exactly the reply: nothing else on stdout
    fake_provider.script(flavor, Reply(text=text, chunks=3, input_tokens=1234, output_tokens=56, cached_tokens=200))
    data = route("ask", "say something", "-m", alias, "--json", env=provider_env(fake_provider)).json()
    assert data["reply"] == text
    assert data["model"]["alias"] == alias
    usage = data["usage"]
    assert usage["output_tokens"] == 56 and usage["estimated"] is False
    if flavor == "anthropic":  # Anthropic reports uncached input separately from cache reads
        assert usage["input_tokens"] == 1234 + 200 and usage["cached_input_tokens"] == 200
    else:
        assert usage["input_tokens"] == 1234 and usage["cached_input_tokens"] == 200
    assert data["cost_usd"] > 0



@pytest.mark.parametrize("mode", [[], ["--no-stream"]])
def test_a_piped_reply_ends_with_one_newline(route, fake_provider, mode):
    # `xargs -P 8 route ask ... > out`: each reply on its own line, and nothing but the reply and that newline.
    env = provider_env(fake_provider)
    fake_provider.script("anthropic", Reply(text="no newline at the end", chunks=3))
    assert route("ask", GREETING, *mode, env=env).stdout == "no newline at the end\n"
    fake_provider.script("anthropic", Reply(text="already ends\n", chunks=3))
    assert route("ask", GREETING, *mode, env=env).stdout == "already ends\n"  # not doubled
    fake_provider.script("anthropic", Reply(text="in json", chunks=3))
    assert route("ask", GREETING, "--json", *mode, env=env).json()["reply"] == "in json"  # the reply is untouched

def test_ollama_local_model(route, fake_provider):
    fake_provider.script("ollama", Reply(text="local answer", input_tokens=10, output_tokens=3))
    result = route("ask", GREETING, "--local", "--json", env=provider_env(fake_provider, local=True))
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert data["reply"] == "local answer" and data["model"]["provider"] == "ollama"
    assert data["cost_usd"] == 0


def test_mistral_never_gets_openai_only_fields(route, fake_provider):
    route("ask", "hi", "-m", "mistral-small", "--max-tokens", "77", env=provider_env(fake_provider))
    body = fake_provider.requests_for("mistral")[-1].body
    assert "stream_options" not in body and "max_completion_tokens" not in body and "user" not in body
    assert body["max_tokens"] == 77
    openai_body = None
    route("ask", "hi", "-m", "gpt-mini", env=provider_env(fake_provider))
    openai_body = fake_provider.requests_for("openai")[-1].body
    assert openai_body["stream_options"] == {"include_usage": True}


def test_system_prompt_no_stream_and_stdin_order(route, fake_provider, tmp_path):
    doc = tmp_path / "notes.txt"
    doc.write_text("FILE CONTENT")
    fake_provider.script("anthropic", Reply(text="done"))
    result = route(
        "ask",
        "INSTRUCTION",
        "-f",
        str(doc),
        "-s",
        "You are terse.",
        "--no-stream",
        "-m",
        "claude-haiku",
        input="STDIN CONTENT",
        env=provider_env(fake_provider),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    body = fake_provider.requests_for("anthropic")[-1].body
    assert body.get("stream") in (None, False)
    system = body["system"] if isinstance(body["system"], str) else body["system"][0]["text"]
    assert system == "You are terse."
    prompt = json.dumps(body["messages"])
    assert prompt.index("INSTRUCTION") < prompt.index("STDIN CONTENT") < prompt.index("FILE CONTENT")
    assert "notes.txt" in prompt


def test_usage_line_and_panel_go_to_stderr(route, fake_provider):
    fake_provider.script("anthropic", Reply(text="answer", input_tokens=10, output_tokens=2))
    result = route("ask", GREETING, "-u", "--verbose", env=provider_env(fake_provider))
    assert result.stdout == "answer\n"
    assert "claude-haiku" in result.stderr and "10 in / 2 out" in result.stderr
    assert "route" in result.stderr.splitlines()[0]  # the panel's title


def test_summarize_from_stdin(route, fake_provider):
    fake_provider.script("mistral", Reply(text="short summary"))
    text = "The committee met on Tuesday. " * 200
    result = route("summarize", input=text, env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "short summary\n"
    body = fake_provider.requests_for("mistral")[-1].body
    content = body["messages"][-1]["content"]
    content = content if isinstance(content, str) else json.dumps(content)
    assert content.startswith("Summarize the following.") and "The committee met" in content
    assert body["model"] == "mistral-large-2512"


# --- faults: retry, fallback, cooldown, give up ---------------------------------------------------------


def _attempts(result):
    return [(a["alias"], a["status"], a["error_kind"]) for a in result.json()["attempts"]]


def test_claude_down_529_falls_back_to_mistral_and_cools_down(route, fake_provider):
    env = provider_env(fake_provider)
    fake_provider.script("anthropic", Fault("529"))
    result = route("ask", GREETING, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert result.json()["model"]["provider"] == "mistral"
    assert _attempts(result) == [("claude-haiku", "fallback", "overloaded"), ("mistral-medium", "ok", None)]
    assert "falling back to mistral-medium" in result.stderr
    contacted = len(fake_provider.requests_for("anthropic"))
    again = route("ask", GREETING, env=env)
    assert again.returncode == 0 and again.stdout.startswith("Hello from mistral")
    assert len(fake_provider.requests_for("anthropic")) == contacted  # cooling down: not contacted
    explain = route("explain", GREETING, "--json", env=env).json()
    haiku = next(c for c in explain["candidates"] if c["alias"] == "claude-haiku")
    assert "cooling down" in haiku["why"] and "529" in haiku["why"]


def test_claude_refusing_connections_falls_back_to_mistral(route, fake_provider):
    env = provider_env(fake_provider, ANTHROPIC_BASE_URL=f"http://127.0.0.1:{closed_port()}")
    result = route("ask", GREETING, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert result.json()["model"]["provider"] == "mistral"
    assert _attempts(result)[0] == ("claude-haiku", "fallback", "connect_error")


def test_429_with_short_retry_after_retries_same_model(route, fake_provider):
    fake_provider.script("anthropic", Fault("429", retry_after=0.2), Reply(text="second try"))
    result = route("ask", GREETING, "--json", env=provider_env(fake_provider))
    assert result.json()["reply"] == "second try"
    assert _attempts(result) == [("claude-haiku", "retry", "rate_limited"), ("claude-haiku", "ok", None)]


def test_429_with_long_retry_after_falls_back_and_cools_the_model(route, fake_provider):
    fake_provider.script("anthropic", Fault("429", retry_after=120))
    start = time.monotonic()
    result = route("ask", GREETING, "--json", env=provider_env(fake_provider))
    assert time.monotonic() - start < 20
    assert _attempts(result)[0] == ("claude-haiku", "fallback", "rate_limited")
    explain = route("explain", GREETING, "--json", env=provider_env(fake_provider)).json()
    haiku = next(c for c in explain["candidates"] if c["alias"] == "claude-haiku")
    assert "cooling down for 1" in haiku["why"]  # ~120 s


def test_500_is_retried_once_then_succeeds(route, fake_provider):
    fake_provider.script("anthropic", Fault("500"), Reply(text="recovered"))
    result = route("ask", GREETING, "--json", env=provider_env(fake_provider))
    assert result.json()["reply"] == "recovered"
    assert _attempts(result) == [("claude-haiku", "retry", "server_error"), ("claude-haiku", "ok", None)]


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("401", "auth_error"),
        ("404", "model_not_found"),
        ("400_context", "context_overflow"),
        ("malformed", "stream_broken"),
    ],
)
def test_faults_that_switch_models(route, fake_provider, fault, kind):
    fake_provider.script("anthropic", Fault(fault))
    result = route("ask", GREETING, "--json", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert _attempts(result)[0] == ("claude-haiku", "fallback", kind)
    assert result.json()["model"]["alias"] == "mistral-medium"


def test_hang_times_out_then_falls_back(route, fake_provider, tmp_path):
    policy = tmp_path / "fast.yaml"
    policy.write_text("defaults:\n  timeouts: {connect: 2, first_token: 1, idle: 1}\n")
    fake_provider.script("anthropic", Fault("hang", seconds=30))
    start = time.monotonic()
    result = route("ask", GREETING, "--json", "--policy", str(policy), env=provider_env(fake_provider))
    assert time.monotonic() - start < 10
    assert result.returncode == 0, result.stderr
    assert _attempts(result)[0] == ("claude-haiku", "fallback", "no_response")


def test_slow_stream_under_idle_limit_succeeds(route, fake_provider):
    fake_provider.script("anthropic", Reply(text="slow but fine", chunks=4, chunk_delay=0.2))
    result = route("ask", GREETING, env=provider_env(fake_provider))
    assert result.returncode == 0 and result.stdout == "slow but fine\n"


@pytest.mark.parametrize("fault", ["drop", "cut", "error_event"])
def test_failure_mid_stream_is_continued_by_the_next_model(route, fake_provider, fault):
    fake_provider.script("anthropic", Fault(fault, after_chunks=2))
    fake_provider.script("mistral", Reply(text=" continued."))
    result = route("ask", GREETING, env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    partial = result.stdout[: -len(" continued.\n")]
    assert partial and result.stdout.endswith(" continued.\n")
    assert "continuing with mistral-medium" in result.stderr
    mistral_prompt = json.dumps(fake_provider.requests_for("mistral")[-1].body["messages"])
    assert "cut off" in mistral_prompt and json.dumps(partial)[1:-1] in mistral_prompt


def test_every_model_failing_is_one_line_exit_7(route, fake_provider):
    for flavor in ("anthropic", "mistral", "openai"):
        fake_provider.script(flavor, *[Fault("401")] * 6)
    result = route("ask", GREETING, env=provider_env(fake_provider))
    assert result.returncode == 7
    assert result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("route: error:")]
    assert len(errors) == 1 and "every model in the chain failed" in errors[0]
    assert "Traceback" not in result.stderr
    as_json = route("ask", GREETING, "--json", env=provider_env(fake_provider))
    assert as_json.returncode == 7 and as_json.json()["ok"] is False


def test_keys_never_reach_output(route, fake_provider):
    env = provider_env(fake_provider, ANTHROPIC_API_KEY="bad-key")
    result = route("ask", GREETING, "--json", "-u", "--verbose", env=env)
    assert "bad-key" not in result.stdout + result.stderr
    for value in env.values():
        if value.startswith(("sk-", "test-")):
            assert value not in result.stdout + result.stderr


# --- validation ------------------------------------------------------------------------------------------


def test_reply_cut_off_by_token_limit_escalates(route, fake_provider):
    fake_provider.script("anthropic", Reply(text="half an ans", stop_reason="max_tokens"))
    fake_provider.script("mistral", Reply(text="wer."))
    result = route("ask", GREETING, "--json", env=provider_env(fake_provider))
    attempts = result.json()["attempts"]
    assert attempts[0]["status"] == "validation_failed" and "token limit" in attempts[0]["error"]
    assert attempts[1]["alias"] == "mistral-medium"


@pytest.mark.parametrize("wire", ["anthropic", "mistral"])
def test_a_reply_stopped_at_the_users_max_tokens_is_a_success(route, fake_provider, wire):
    """--max-tokens is the user's limit: one call, its text alone on stdout, exit 0, the stop reason shown."""
    alias = "claude-haiku" if wire == "anthropic" else "mistral-medium"
    fake_provider.script(wire, *[Reply(text="The capital of", stop_reason="max_tokens")] * 3)
    env = provider_env(fake_provider)
    result = route("ask", GREETING, "-m", alias, "--max-tokens", "5", "-u", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The capital of\n"
    assert "stopped at --max-tokens 5" in result.stderr and "escalating" not in result.stderr
    assert len(fake_provider.requests_for(wire)) == 1
    data = route("ask", GREETING, "-m", alias, "--max-tokens", "5", "--json", env=env).json()
    assert data["ok"] is True and data["stop_reason"] == "max_tokens" and data["reply"] == "The capital of"
    assert [a["status"] for a in data["attempts"]] == ["ok"] and data["attempts"][0]["max_tokens"] == 5


def test_empty_reply_escalates(route, fake_provider):
    fake_provider.script("anthropic", Reply(text=""))
    fake_provider.script("mistral", Reply(text="a real answer"))
    result = route("ask", GREETING, env=provider_env(fake_provider))
    assert result.stdout == "a real answer\n"
    assert "empty reply" in result.stderr


def test_safety_reply_is_held_back_until_validated(route, fake_provider):
    fake_provider.script("anthropic", Reply(text="Do not run th", stop_reason="max_tokens"), Reply(text="Safe plan."))
    result = route("ask", "run rm -rf /var/lib/app on the production server", env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Safe plan.\n"  # the cut-off reply never reached stdout
    models = [r.body["model"] for r in fake_provider.requests_for("anthropic")]
    assert models == ["claude-sonnet-5-5", "claude-opus-5-5"]


# --- Ctrl-C -------------------------------------------------------------------------------------------------


@pytest.mark.process
def test_ctrl_c_keeps_partial_output_and_exits_130(home, fake_provider):
    text = "one two three four five six seven eight nine ten"
    fake_provider.script("anthropic", Reply(text=text, chunks=10, chunk_delay=0.4))
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    proc = subprocess.Popen(
        [sys.executable, "-m", "routecli", "ask", GREETING, "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 30
    while not fake_provider.requests_for("anthropic") and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the call to be under way, however slow the machine
    time.sleep(1.0)  # and for a few chunks (one every 0.4 s)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err.decode()
    data = json.loads(out)
    assert data["error"] == "interrupted"
    last = data["attempts"][-1]
    assert last["status"] == "interrupted" and last["usage"]["estimated"] is True
    assert b"Traceback" not in err


@pytest.mark.process
def test_ctrl_c_streaming_keeps_what_was_printed(home, fake_provider):
    words = " ".join(f"word{i}" for i in range(12))
    fake_provider.script("anthropic", Reply(text=words, chunks=12, chunk_delay=0.4))
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    proc = subprocess.Popen(
        [sys.executable, "-m", "routecli", "ask", GREETING],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.read1(4096)  # blocks until the first text is printed: interrupt mid-stream, not by the clock
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=20)
    out = (first + rest).decode()
    assert proc.returncode == 130, err.decode()
    assert out.startswith("word0") and out != words and words.startswith(out.rstrip())
    assert b"Traceback" not in err and b"interrupted" in err


@pytest.mark.process
@pytest.mark.parametrize(("transport", "imported"), [("raw", "[]"), ("sdk", "['mistralai']")])
def test_no_sdk_is_imported_for_a_provider_not_called(home, fake_provider, transport, imported):
    """With the default raw transport no SDK at all; with `transport: sdk`, only the called provider's."""
    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    policy = home / "transport.yaml"
    policy.write_text(f"providers:\n  mistral:\n    transport: {transport}\n")
    env["ROUTE_POLICY"] = str(policy)
    code = (
        "import sys\nsys.argv=['route','ask','hello there!','-m','mistral-medium']\n"
        "from routecli.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('\\nMODS', sorted(m for m in ('anthropic','openai','mistralai') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60).stdout
    assert f"MODS {imported}" in out
