"""Conversations and history (issue 13): `route ask -c`, `--cid`, `route log`, `--no-log`, `route log on|off`,
staying on or moving from the previous turn's model, and the history never stopping work."""

from __future__ import annotations

import sqlite3
import stat

import pytest
from conftest import ALL_KEYS, provider_env
from fakeprovider import Reply

from routecli.history.store import SCHEMA_VERSION

GREETING = "hello there!"  # chat: claude-haiku first, then mistral-medium

WIRES = [("anthropic", "claude-haiku"), ("mistral", "mistral-medium"), ("openai", "gpt-mini")]


def _messages(body: dict) -> list[tuple[str, str]]:
    """(role, text) of every message but the system one (OpenAI and Mistral put it in `messages`)."""
    return [(m["role"], m["content"]) for m in body["messages"] if m["role"] != "system"]


def _log(route) -> list[dict]:
    result = route("log", "--json", "-n", "50")
    assert result.returncode == 0, result.stderr
    return result.json()


@pytest.mark.parametrize(("flavor", "alias"), WIRES)
def test_a_follow_up_sends_the_earlier_turns_in_order(route, fake_provider, flavor, alias):
    env = provider_env(fake_provider)
    fake_provider.script(flavor, Reply(text="Hello Zed."))
    assert route("ask", "my name is Zed", "-m", alias, env=env).returncode == 0
    fake_provider.script(flavor, Reply(text="Your name is Zed."))
    result = route("ask", "-c", "what is my name?", "-m", alias, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Your name is Zed.\n"
    assert _messages(fake_provider.requests_for(flavor)[-1].body) == [
        ("user", "my name is Zed"),
        ("assistant", "Hello Zed."),
        ("user", "what is my name?"),
    ]


def test_the_done_criterion_two_asks_three_messages_and_the_log(route, fake_provider):
    env = provider_env(fake_provider)
    fake_provider.script("anthropic", Reply(text="Hello Zed.", input_tokens=40, output_tokens=5))
    assert route("ask", "my name is Zed", env=env).returncode == 0
    fake_provider.script("anthropic", Reply(text="Zed.", input_tokens=60, output_tokens=3))
    assert route("ask", "-c", "what is my name?", env=env).returncode == 0
    assert len(fake_provider.requests[-1].body["messages"]) == 3
    first, second = _log(route)
    assert (first["prompt"], first["reply"]) == ("my name is Zed", "Hello Zed.")
    assert (second["prompt"], second["reply"]) == ("what is my name?", "Zed.")
    assert first["cid"] == second["cid"] and first["id"] < second["id"]
    assert first["cost_usd"] > 0 and second["cost_usd"] > 0
    assert (second["input_tokens"], second["output_tokens"]) == (60, 3)
    assert second["model"] == "claude-haiku" and second["status"] == "ok"


def test_without_c_a_new_conversation_starts(route, fake_provider):
    env = provider_env(fake_provider)
    route("ask", "one", env=env)
    route("ask", "two", env=env)
    assert len(fake_provider.requests[-1].body["messages"]) == 1
    first, second = _log(route)
    assert first["cid"] != second["cid"]


def test_cid_continues_a_given_conversation_by_prefix(route, fake_provider):
    env = provider_env(fake_provider)
    fake_provider.script("anthropic", Reply(text="A1"), Reply(text="B1"))
    route("ask", "first conversation", env=env)
    route("ask", "second conversation", env=env)
    cid = _log(route)[0]["cid"]
    result = route("ask", "--cid", cid[:11], "and then?", env=env)
    assert result.returncode == 0, result.stderr
    assert _messages(fake_provider.requests[-1].body) == [
        ("user", "first conversation"), ("assistant", "A1"), ("user", "and then?")
    ]
    assert _log(route)[-1]["cid"] == cid


def test_continuing_with_no_history_or_an_unknown_id_is_a_usage_error(route, fake_provider):
    env = provider_env(fake_provider)
    empty = route("ask", "-c", "what is my name?", env=env)
    assert empty.returncode == 2 and "no conversation to continue" in empty.stderr
    route("ask", "hi", env=env)
    unknown = route("ask", "--cid", "zzzz", "more", env=env)
    assert unknown.returncode == 2 and "no conversation 'zzzz'" in unknown.stderr
    bad = route("ask", "--cid", "x'; drop", "more", env=env)
    assert bad.returncode == 2 and "not a conversation id" in bad.stderr
    assert "Traceback" not in empty.stderr + unknown.stderr + bad.stderr
    assert len(fake_provider.requests) == 1  # none of them called a model


def test_complexity_moved_to_capital_c(route):
    low = route("explain", "Write a quicksort in C", "-C", "1", "--json", env=ALL_KEYS)
    high = route("explain", "Write a quicksort in C", "-C", "10", "--json", env=ALL_KEYS)
    assert low.returncode == 0 and high.returncode == 0, low.stderr + high.stderr
    assert low.json()["required_tier"] < high.json()["required_tier"]


def test_a_follow_up_keeps_the_system_prompt_unless_given_one(route, fake_provider):
    env = provider_env(fake_provider)
    route("ask", "hi", "-s", "Answer in French.", "-m", "claude-haiku", env=env)
    route("ask", "-c", "again", "-m", "claude-haiku", env=env)
    assert fake_provider.requests[-1].body["system"] == "Answer in French."
    route("ask", "-c", "now", "-s", "Answer in German.", "-m", "claude-haiku", env=env)
    assert fake_provider.requests_for("anthropic")[-1].body["system"] == "Answer in German."


def test_attachments_are_named_not_kept_and_a_follow_up_says_so(route, fake_provider, home):
    env = provider_env(fake_provider)
    (home.parent / "notes.txt").write_text("SECRET-CONTENT " * 10)
    route("ask", "what is in it?", "-f", "notes.txt", "-m", "claude-haiku", env=env)
    [kept] = _log(route)
    assert kept["attachments"] == [{"name": "notes.txt", "bytes": 150}]
    raw = (home / "data" / "history.sqlite3").read_bytes() + (home / "data" / "history.sqlite3-wal").read_bytes()
    assert b"SECRET-CONTENT" not in raw
    route("ask", "-c", "and?", "-m", "claude-haiku", env=env)
    earlier = _messages(fake_provider.requests[-1].body)[0][1]
    assert earlier.startswith("what is in it?") and "notes.txt (150 bytes)" in earlier


# --- staying on the previous model, or moving --------------------------------------------------------------


def test_a_follow_up_stays_on_the_previous_model_even_when_another_is_cheaper(route, fake_provider):
    env = provider_env(fake_provider)
    route("ask", GREETING, "-m", "mistral-medium", env=env)  # claude-haiku is the cheaper chat candidate
    explained = route("explain", "-c", "ok, and again?", "--json", env=env).json()
    assert explained["chosen"]["alias"] == "mistral-medium"
    assert explained["conversation"]["continuity"]["move"] == "stays"
    result = route("ask", "-c", "ok, and again?", env=env)
    assert result.returncode == 0, result.stderr
    assert fake_provider.requests[-1].flavor == "mistral"
    assert _log(route)[-1]["reason"].startswith("stays on mistral-medium: previous turn's model, still eligible")
    text = route("explain", "-c", "ok, and again?", env=env).stdout
    assert "stays on mistral-medium: previous turn's model, still eligible" in text


def test_a_conversation_that_outgrows_the_window_moves_with_the_reason(route, fake_provider, home):
    small = home.parent / "small.yaml"
    small.write_text("models:\n  claude-haiku:\n    context: 6000\n    max_output: 2000\n")
    env = provider_env(fake_provider, ROUTE_POLICY=str(small))
    fake_provider.script("anthropic", Reply(text="word " * 6000))  # ~6,000 tokens of reply
    first = route("ask", GREETING, "--max-tokens", "1000", env=env)
    assert first.returncode == 0 and fake_provider.requests[-1].flavor == "anthropic", first.stderr
    explained = route("explain", "-c", "ok, and again?", "--max-tokens", "1000", env=env)
    assert "moves from claude-haiku to mistral-medium: conversation (" in explained.stdout
    assert "tokens) exceeds claude-haiku's window" in explained.stdout
    result = route("ask", "-c", "ok, and again?", "--max-tokens", "1000", env=env)
    assert result.returncode == 0, result.stderr
    assert "moves from claude-haiku to mistral-medium" in result.stderr  # said, panel or not
    assert _log(route)[-1]["reason"].startswith("moves from claude-haiku to mistral-medium: conversation (")
    body = fake_provider.requests[-1].body
    assert fake_provider.requests[-1].flavor == "mistral" and len(body["messages"]) == 3


def test_a_pin_wins_over_staying(route, fake_provider):
    env = provider_env(fake_provider)
    route("ask", GREETING, "-m", "mistral-medium", env=env)
    route("ask", "-c", "more", "-m", "claude-haiku", env=env)
    assert fake_provider.requests[-1].flavor == "anthropic"


# --- the history: on by default, off for one call or for good, kept apart from the ledger -------------------


def test_no_log_and_log_off_keep_nothing_new(route, fake_provider, home):
    env = provider_env(fake_provider)
    route("ask", "kept", env=env)
    route("ask", "not kept", "--no-log", env=env)
    assert [e["prompt"] for e in _log(route)] == ["kept"]
    off = route("log", "off")
    assert off.returncode == 0 and "off" in off.stdout
    assert "off" in route("log", "status").stdout
    route("ask", "not kept either", env=env)
    assert [e["prompt"] for e in _log(route)] == ["kept"]
    assert route("log", "on").returncode == 0
    route("ask", "kept again", env=env)
    assert [e["prompt"] for e in _log(route)] == ["kept", "kept again"]
    assert route("log", "status", "--json").json() == {
        "logging": True, "path": str(home / "data" / "history.sqlite3"), "exchanges": 2
    }


def test_a_follow_up_that_will_not_be_kept_says_so(route, fake_provider):
    env = provider_env(fake_provider)
    route("ask", "kept", env=env)
    quiet = route("ask", "-c", "kept too", env=env)
    assert "not kept" not in quiet.stderr
    forgotten = route("ask", "-c", "sent with context, then forgotten", "--no-log", env=env)
    assert forgotten.returncode == 0 and "this turn is not kept (--no-log)" in forgotten.stderr
    route("log", "off")
    assert "this turn is not kept (`route log off`)" in route("ask", "-c", "again", env=env).stderr


def test_the_ledger_stays_free_of_prompt_text_and_the_history_is_private(route, fake_provider, home):
    route("ask", "a private question", env=provider_env(fake_provider))
    conn = sqlite3.connect(home / "data" / "ledger.sqlite3")
    assert conn.execute("SELECT prompt FROM attempts").fetchall() == [(None,)]
    history = home / "data" / "history.sqlite3"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert sqlite3.connect(history).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert sqlite3.connect(history).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert "history.sqlite3" in route("paths").stdout


def test_log_search_filter_and_show(route, fake_provider):
    env = provider_env(fake_provider)
    fake_provider.script("anthropic", Reply(text="Paris is the capital."), Reply(text="Lima."), Reply(text="Yes."))
    route("ask", "capital of France?", env=env)
    route("ask", "capital of Peru? 100%_sure", env=env)
    route("ask", "-c", "sure?", env=env)
    assert [e["reply"] for e in route("log", "-q", "PARIS", "--json").json()] == ["Paris is the capital."]
    assert [e["prompt"] for e in route("log", "-q", "100%_", "--json").json()] == ["capital of Peru? 100%_sure"]
    assert route("log", "-q", "%", "--json").json()[0]["prompt"] == "capital of Peru? 100%_sure"  # % is literal
    everything = _log(route)
    assert [e["prompt"] for e in route("log", "--cid", everything[1]["cid"], "--json").json()] == [
        "capital of Peru? 100%_sure", "sure?"
    ]
    assert [e["prompt"] for e in route("log", "-n", "1", "--json").json()] == ["sure?"]
    listed = route("log").stdout
    assert "capital of France?" in listed and "Lima." in listed and everything[0]["id"] in listed
    target = everything[1]["id"]
    shown = route("log", "show", target[:12])
    assert shown.returncode == 0, shown.stderr
    assert "capital of Peru? 100%_sure" in shown.stdout and "Lima." in shown.stdout and target in shown.stdout
    assert route("log", "show", target, "--json").json()["reply"] == "Lima."
    ambiguous = route("log", "show", target[:2])
    assert ambiguous.returncode == 2 and "more than one exchange" in ambiguous.stderr


def test_a_damaged_history_is_set_aside_and_the_reply_still_printed(route, fake_provider, home):
    history = home / "data" / "history.sqlite3"
    history.parent.mkdir(parents=True, exist_ok=True)
    junk = b"not a database at all " * 200
    history.write_bytes(junk)
    fake_provider.script("anthropic", Reply(text="still answered"))
    result = route("ask", GREETING, env=provider_env(fake_provider))
    assert result.returncode == 0 and result.stdout == "still answered\n", result.stderr
    notices = [line for line in result.stderr.splitlines() if "set aside" in line]
    assert len(notices) == 1 and "history" in notices[0] and "Traceback" not in result.stderr
    [aside] = [p for p in history.parent.iterdir() if p.name.startswith("history.sqlite3.damaged-")
               and not p.name.endswith(("-wal", "-shm"))]
    assert aside.read_bytes() == junk  # kept, byte for byte
    assert [e["reply"] for e in _log(route)] == ["still answered"]


def test_an_unwritable_history_waits_pending_and_is_imported_next_time(route, fake_provider, home):
    history = home / "data" / "history.sqlite3"
    history.mkdir(parents=True)  # a folder where the file should be: it cannot be opened, whoever runs this
    fake_provider.script("anthropic", Reply(text="first reply"), Reply(text="second reply"))
    env = provider_env(fake_provider)
    result = route("ask", "first", env=env)
    assert result.returncode == 0 and result.stdout == "first reply\n", result.stderr
    assert "cannot open the history" in result.stderr and "waits in" in result.stderr
    history.rmdir()
    assert route("ask", "second", env=env).returncode == 0
    assert [e["reply"] for e in _log(route)] == ["first reply", "second reply"]
    assert not (home / "data" / "history.sqlite3.pending.jsonl").exists()


# --- route chat ---------------------------------------------------------------------------------------------


def test_chat_from_a_pipe_answers_one_turn_per_line(route, fake_provider):
    env = provider_env(fake_provider)
    fake_provider.script("anthropic", Reply(text="Hello Zed.", input_tokens=30, output_tokens=4),
                         Reply(text="Your name is Zed.", input_tokens=50, output_tokens=5))
    result = route("chat", input="my name is Zed\n\nwhat is my name?\n", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello Zed.\nYour name is Zed.\n"  # stdout: the replies and nothing else
    assert _messages(fake_provider.requests[-1].body) == [
        ("user", "my name is Zed"), ("assistant", "Hello Zed."), ("user", "what is my name?")
    ]
    status = [line for line in result.stderr.splitlines() if "session $" in line]
    assert len(status) == 2 and status[1].startswith("claude-haiku · 50 in / 5 out · session $")
    kept = _log(route)
    assert [e["command"] for e in kept] == ["chat", "chat"] and kept[0]["cid"] == kept[1]["cid"]


def test_chat_commands_pin_route_again_cost_and_exit(route, fake_provider):
    env = provider_env(fake_provider)
    script = "!model gpt-mini\nhi\n!model no-such-model\n!auto\nhi again\n!cost\n!nope\n!exit\nnever sent\n"
    result = route("chat", input=script, env=env)
    assert result.returncode == 0, result.stderr
    # pinned, then routed again: it stays on gpt-mini, the previous turn's model, while that is eligible
    assert [r.flavor for r in fake_provider.requests] == ["openai", "openai"]
    assert "pinned to gpt-mini" in result.stderr and "no-such-model" in result.stderr
    assert "2 turn(s) this session, $" in result.stderr
    assert "unknown command '!nope'" in result.stderr
    assert all("never sent" not in str(r.body) for r in fake_provider.requests)


def test_chat_continues_a_conversation_and_a_failed_turn_does_not_end_it(route, fake_provider):
    env = provider_env(fake_provider)
    fake_provider.script("anthropic", Reply(text="Hello Zed."))
    route("ask", "my name is Zed", "-m", "claude-haiku", env=env)
    result = route("chat", "-c", input="what is my name?\n", env=env)
    assert result.returncode == 0, result.stderr
    assert len(fake_provider.requests[-1].body["messages"]) == 3
    failing = route("chat", "-m", "claude-haiku", input="one\ntwo\n", env={**env, "ANTHROPIC_API_KEY": "bad-key"})
    assert failing.stderr.count("route: error:") == 2  # each turn failed on its own; the session went on
    assert failing.returncode == 7  # from a pipe, the session ends with the first failure's code


@pytest.mark.parametrize(("flavor", "alias"), WIRES)
def test_the_sdk_transport_sends_the_earlier_turns_too(route, fake_provider, home, flavor, alias):
    sdk = home.parent / "sdk.yaml"
    sdk.write_text(f"providers:\n  {flavor}:\n    transport: sdk\n")
    env = provider_env(fake_provider, ROUTE_POLICY=str(sdk))
    fake_provider.script(flavor, Reply(text="Hello Zed."))
    route("ask", "my name is Zed", "-m", alias, env=env)
    result = route("ask", "-c", "what is my name?", "-m", alias, env=env)
    assert result.returncode == 0, result.stderr
    assert _messages(fake_provider.requests_for(flavor)[-1].body) == [
        ("user", "my name is Zed"), ("assistant", "Hello Zed."), ("user", "what is my name?")
    ]


def test_a_follow_up_moves_when_its_model_is_no_longer_eligible_or_capable(route, fake_provider):
    env = provider_env(fake_provider)
    route("ask", GREETING, "-m", "mistral-small", env=env)  # a chat fallback, tier 1
    below = route("explain", "-c", "ok, and again?", "-C", "8", "--json", env=env).json()
    continuity = below["conversation"]["continuity"]
    assert continuity["move"] == "below_tier" and below["chosen"]["alias"] != "mistral-small"
    assert continuity["text"].startswith("moves from mistral-small to ")
    no_key = {k: v for k, v in env.items() if k != "MISTRAL_API_KEY"}
    gone = route("explain", "-c", "ok, and again?", "--json", env=no_key).json()["conversation"]["continuity"]
    assert gone["move"] == "ineligible" and "no API key (set MISTRAL_API_KEY)" in gone["text"]
    route("ask", "write a python function that adds two numbers", "-m", "codestral", env=env)
    # a short follow-up would keep the conversation's task (code); this one is plainly a chat question
    chat = "thanks a lot! by the way, what is the capital of France?"
    other = route("explain", "-c", chat, "--json", env=env).json()["conversation"]["continuity"]
    assert other["move"] == "not_a_candidate"  # codestral is no chat model


def test_route_log_on_a_damaged_history_sets_it_aside_and_lists_nothing(route, home):
    history = home / "data" / "history.sqlite3"
    history.parent.mkdir(parents=True, exist_ok=True)
    history.write_bytes(b"\x00garbage" * 500)
    result = route("log")
    assert result.returncode == 0, result.stderr
    assert "set aside" in result.stderr and result.stdout == "no exchanges in the history\n"
    assert any(p.name.startswith("history.sqlite3.damaged-") for p in history.parent.iterdir())


def test_chat_no_log_keeps_nothing_but_still_sends_the_earlier_turns(route, fake_provider):
    env = provider_env(fake_provider)
    result = route("chat", "--no-log", input="one\ntwo\n", env=env)
    assert result.returncode == 0, result.stderr
    assert len(fake_provider.requests[-1].body["messages"]) == 3
    assert _log(route) == []


def test_truncate_leaves_room_for_the_earlier_turns(route, fake_provider, home):
    small = home.parent / "small.yaml"
    small.write_text("models:\n  claude-haiku:\n    context: 6000\n    max_output: 1000\n"
                     "tasks:\n  chat:\n    candidates: [claude-haiku]\n    fallbacks: []\n")
    env = provider_env(fake_provider, ROUTE_POLICY=str(small))
    fake_provider.script("anthropic", Reply(text="word " * 2000))  # ~2,000 tokens of earlier reply
    assert route("ask", GREETING, "-t", "chat", env=env).returncode == 0
    (home.parent / "big.txt").write_text(" 83" * 20000)  # ~20,000 tokens at 3 bytes each: fits no window
    result = route("ask", "-c", "-t", "chat", "--truncate", "-f", "big.txt", "what does it say?", env=env)
    assert result.returncode == 0, result.stderr
    assert "--truncate: input cut" in result.stderr
    assert len(fake_provider.requests[-1].body["messages"]) == 3


def test_chat_usage_line_once_per_turn_and_the_panel_only_with_verbose(route, fake_provider):
    env = provider_env(fake_provider)
    usage = route("chat", "-u", input=f"{GREETING}\n{GREETING}\n", env=env)
    assert usage.returncode == 0, usage.stderr
    usage_lines = [line for line in usage.stderr.splitlines() if line.startswith("route: claude-haiku · ")]
    assert len(usage_lines) == 2, usage.stderr
    assert "fallbacks:" not in usage.stderr
    verbose = route("chat", "-v", input="one\n", env=env)
    assert verbose.returncode == 0 and "fallbacks:" in verbose.stderr, verbose.stderr


def test_summarize_is_kept_unless_no_log(route, fake_provider):
    env = provider_env(fake_provider)
    fake_provider.script("mistral", Reply(text="A short summary."))
    assert route("summarize", "--no-log", input="some long text to summarize\n", env=env).returncode == 0
    assert _log(route) == []
    assert route("summarize", input="some long text to summarize\n", env=env).returncode == 0
    [kept] = _log(route)
    assert kept["command"] == "summarize" and kept["attachments"] == [{"name": "stdin", "bytes": 28}]


@pytest.mark.process
def test_parallel_runs_lose_no_exchange(home, fake_provider):
    import subprocess
    import sys

    from conftest import _clean_env

    env = _clean_env(home)
    env.update(provider_env(fake_provider))
    runs = [subprocess.Popen([sys.executable, "-m", "routecli", "ask", f"{GREETING} {n}"], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for n in range(5)]
    for proc in runs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    conn = sqlite3.connect(home / "data" / "history.sqlite3")
    prompts = sorted(row[0] for row in conn.execute("SELECT prompt FROM exchanges"))
    assert prompts == [f"{GREETING} {n}" for n in range(5)]


def test_a_short_follow_up_keeps_the_conversations_task(route, fake_provider):
    """"now" alone reads as anything (the learned model once said safety); after a code question it is code."""
    env = provider_env(fake_provider)
    first = route("ask", "write a python function that parses ISO dates", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert first.json()["task"] == "code"
    data = route("explain", "-c", "now", "--json", env=env).json()
    assert data["task"] == "code", data["evidence"]
    assert any("follow-up: keeps the conversation's task 'code'" in line for line in data["evidence"])
    # a rule still wins: a destructive production action in a follow-up is safety
    risky = route("explain", "-c", "now drop the users table in production", "--json", env=env).json()
    assert risky["task"] == "safety"


def test_a_secret_sent_once_with_allow_secrets_is_not_sent_again_without_it(route, fake_provider):
    """The earlier turns go with every follow-up: a password allowed once is scanned again, and a follow-up
    without --allow-secrets (to another provider, here) is refused rather than sending it silently."""
    env = provider_env(fake_provider)
    first = route("ask", "connect with postgres://admin:Xk9v2LqP7zR@db/x", "--allow-secrets", "-m", "claude-haiku",
                  env=env)
    assert first.returncode == 0, first.stderr
    follow = route("ask", "-c", "and what does it do?", "-m", "gpt", env=env)
    assert follow.returncode == 2 and "an earlier turn of the conversation" in follow.stderr
    assert "Xk9v2LqP7zR" not in follow.stderr and not fake_provider.requests_for("openai")


def test_route_log_never_prints_a_key_this_machine_holds(route, fake_provider):
    env = provider_env(fake_provider)
    key = env["OPENAI_API_KEY"]
    sent = route("ask", f"why is {key} refused?", "--allow-secrets", "-m", "claude-haiku", env=env)
    assert sent.returncode == 0, sent.stderr
    for args in (("log",), ("log", "--json")):
        shown = route(*args, env=env)
        assert shown.returncode == 0 and key not in shown.stdout and "why is" in shown.stdout


def test_an_empty_cid_is_a_usage_error_not_a_new_conversation(route):
    for command in ("ask", "explain"):
        result = route(command, "--cid", "", "hello")
        assert result.returncode == 2 and "--cid needs a conversation id" in result.stderr, result.stderr
