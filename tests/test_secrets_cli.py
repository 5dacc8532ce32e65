"""Secrets in a prompt stay home (issue 10, point 4), end to end: `route ask`, `summarize` and `explain` against the
fake provider, which must see no request unless --allow-secrets says so or a local model takes it."""

from __future__ import annotations

from pathlib import Path

from conftest import ALL_KEYS, provider_env
from fakeprovider import Reply

PEM_LINE = "MIIEpAIBAAKCAQEAx3V7kq9Rz0fJm2bL8yQeT4wNcP1sHgUa6dVoXiYrZ5tKjB0n"
PEM = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_LINE}\nq8Wm3Lp7Rx2Ys9Tv\n-----END OPENSSH PRIVATE KEY-----\n"
DOTENV = "APP_ENV=production\nDB_PASSWORD=Qz8!mK2vLx9#pR4t\n"


def _key_file(tmp_path: Path) -> str:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "id_ed25519").write_text(PEM)
    return "deploy/id_ed25519"


def test_a_private_key_in_an_attached_file_is_not_sent_to_a_remote_provider(route, fake_provider, tmp_path):
    name = _key_file(tmp_path)
    result = route("ask", "why does ssh reject this key?", "-f", name, env=provider_env(fake_provider))
    assert result.returncode == 2
    assert fake_provider.requests == []
    assert result.stdout == ""
    error = result.stderr.strip()
    assert error.count("\n") == 0  # one line
    assert f"file {name} line 1 holds a private key" in error
    assert "--allow-secrets" in error and "route local serve" in error
    assert PEM_LINE[:12] not in result.stderr


def test_allow_secrets_sends_it(route, fake_provider, tmp_path):
    name = _key_file(tmp_path)
    result = route("ask", "why does ssh reject this key?", "-f", name, "--allow-secrets",
                   env=provider_env(fake_provider))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Hello from")  # the fake's default reply, from whichever model was chosen
    sent = fake_provider.requests
    assert len(sent) == 1 and PEM_LINE in str(sent[0].body)
    assert "--allow-secrets" in result.stderr and f"file {name} line 1" in result.stderr


def test_a_local_model_takes_a_prompt_holding_a_secret(route, fake_provider, tmp_path):
    (tmp_path / ".env").write_text(DOTENV)
    fake_provider.script("ollama", Reply(text="set it in the vault"))
    result = route("ask", "is this config safe?", "-f", ".env", env=provider_env(fake_provider, local=True))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "set it in the vault\n"
    assert {r.flavor for r in fake_provider.requests} == {"ollama"}
    assert "kept on this machine" in result.stderr and "file .env line 2" in result.stderr
    assert "Qz8!mK2v" not in result.stderr


def test_any_local_model_may_take_it_whatever_the_task_and_tier(route, fake_provider, tmp_path):
    """`code` lists no local model, and chat at --complexity 9 asks for more than the local candidate's tier 1: a
    secret still goes to the local one (as under --local)."""
    (tmp_path / ".env").write_text(DOTENV)
    env = provider_env(fake_provider, local=True)
    fake_provider.script("ollama", Reply(text="code answer"))
    result = route("ask", "refactor the loader for this", "-t", "code", "-f", ".env", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert result.json()["model"]["provider"] == "ollama"
    fake_provider.script("ollama", Reply(text="hard answer"))
    result = route("ask", "prove it", "-t", "chat", "--complexity", "9", "-f", ".env", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert result.json()["model"]["provider"] == "ollama"
    assert {r.flavor for r in fake_provider.requests} == {"ollama"}


def test_explain_shows_the_finding_masked_and_the_decision(route, fake_provider, tmp_path):
    (tmp_path / ".env").write_text(DOTENV)
    env = provider_env(fake_provider)
    result = route("explain", "check", "-f", ".env", "--json", env=env)
    assert result.returncode == 0 and "`route ask` would stop here (exit 2)" in result.stderr  # a dry run shows it
    data = result.json()
    assert data["secrets"] == {
        "found": [{"kind": "assigned_secret", "what": "a secret value (DB_PASSWORD)", "source": "file .env",
                   "line": 2, "masked": "-"}],
        "allowed": False,
    }
    assert data["chosen"] is None
    remote = [c for c in data["candidates"] if c["provider"] != "ollama"]
    assert remote and all("secret" in c["why"] for c in remote)
    assert "Qz8!mK2v" not in result.stdout + result.stderr

    text = route("explain", "check", "-f", ".env", "--allow-secrets", env=env)
    assert text.returncode == 0, text.stderr
    assert "Secrets     file .env line 2: a secret value (DB_PASSWORD)" in text.stdout
    assert "--allow-secrets: remote models may take it" in text.stdout
    assert "Chosen      claude-haiku" in text.stdout
    assert fake_provider.requests == []


def test_a_token_in_the_prompt_itself_and_on_stdin(route, fake_provider):
    env = provider_env(fake_provider)
    token = "ghp_" + "R8v2LkQ9wZ3mT5yH7nB1cX4dF6gJ0aS2pE8u"
    result = route("ask", f"first line\nwhy is {token} rejected?", env=env)
    assert result.returncode == 2 and "the prompt line 2 holds a GitHub token" in result.stderr
    result = route("ask", "what is this?", input=f"notes\nmore\nAuthorization: token {token}\n", env=env)
    assert result.returncode == 2 and "stdin line 3 holds a GitHub token" in result.stderr
    assert token[4:] not in result.stderr
    assert fake_provider.requests == []


def test_a_key_route_holds_is_a_secret_in_a_prompt(route, fake_provider):
    key = ALL_KEYS["MISTRAL_API_KEY"]  # looks like nothing in particular: found because route holds it
    result = route("ask", f"is {key} still valid?", env=provider_env(fake_provider))
    assert result.returncode == 2
    assert "the prompt line 1 holds the API key in your environment (MISTRAL_API_KEY)" in result.stderr
    assert key not in result.stderr
    assert fake_provider.requests == []


def test_privacy_local_only_keeps_matching_files_home_whatever_they_hold(route, fake_provider, tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "plan.md").write_text("The launch date is in May.\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("privacy:\n  local_only: ['*.env', 'secrets/**']\n")
    env = provider_env(fake_provider)
    result = route("ask", "summarize the plan", "-f", "secrets/plan.md", "--policy", str(policy), env=env)
    assert result.returncode == 2
    assert "file secrets/plan.md is kept local by the policy (privacy.local_only 'secrets/**')" in result.stderr
    assert fake_provider.requests == []
    fake_provider.script("anthropic", Reply(text="In May."))
    result = route("ask", "summarize the plan", "-f", "secrets/plan.md", env=env)  # no such policy: it goes
    assert result.returncode == 0, result.stderr


def test_a_link_to_a_private_file_is_kept_home_too(route, fake_provider, tmp_path):
    """The globs match where a symbolic link leads as well as the path given: a link to a file, or through a
    linked folder, is the private file itself."""
    (tmp_path / "secrets" / "deep").mkdir(parents=True)
    (tmp_path / "secrets" / "deep" / "x.txt").write_text("The launch date is in May.\n")
    (tmp_path / "link.txt").symlink_to("secrets/deep/x.txt")
    (tmp_path / "notes").symlink_to("secrets/deep")
    policy = tmp_path / "priv.yaml"
    policy.write_text("privacy:\n  local_only: ['secrets/**', '*.key']\n")
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "id.key").write_text("not shaped like a key\n")
    (tmp_path / "id.txt").symlink_to("keys/id.key")
    env = provider_env(fake_provider)
    for name, glob in (("link.txt", "secrets/**"), ("notes/x.txt", "secrets/**"), ("id.txt", "*.key")):
        result = route("ask", "check", "-f", name, "--policy", str(policy), env=env)
        assert result.returncode == 2, (name, result.stderr)
        assert f"file {name} is kept local by the policy (privacy.local_only '{glob}')" in result.stderr
    assert fake_provider.requests == []


def test_a_bad_privacy_setting_is_a_policy_error(route, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("privacy:\n  local_only: '*.env'\n")
    result = route("explain", "hi", "--policy", str(policy))
    assert result.returncode == 2 and "policy.yaml:2" in result.stderr and "local_only" in result.stderr


def test_a_map_reduce_summary_of_a_secret_with_no_local_model_is_refused_the_same_way(route, fake_provider, tmp_path):
    (tmp_path / ".env").write_text(DOTENV * 50)
    policy = tmp_path / "policy.yaml"
    policy.write_text("map_reduce:\n  above_tokens: 10\n")  # chunk even this small input
    result = route("summarize", "-f", ".env", "--policy", str(policy), env=provider_env(fake_provider))
    assert result.returncode == 2, result.stderr
    assert "file .env line 2 holds a secret value (DB_PASSWORD)" in result.stderr
    assert fake_provider.requests == []


def test_summarize_names_the_line_of_the_users_own_text(route, fake_provider):
    """`route summarize "TEXT"` wraps the text in an instruction of its own: lines still count from the user's."""
    text = "Meeting notes.\nDB: postgres://app:Hq7!xK2m@db.internal/prod\n"
    result = route("summarize", text, env=provider_env(fake_provider))
    assert result.returncode == 2
    assert "the prompt line 2 holds a password in a URL" in result.stderr
    assert fake_provider.requests == []


def test_the_readmes_own_first_command_runs(route):
    """CI's main job: the README (which shows `postgres://u:pass@h` as an example) is no secret, and a dry run
    that finds one reports it and exits 0 (what `route ask` would do is a notice)."""
    readme = Path(__file__).resolve().parent.parent / "README.md"
    result = route("explain", "Summarize this file", "-f", str(readme))
    assert result.returncode == 0, result.stderr
    found = route("explain", "connect with postgres://admin:Xk9v2LqP7zR@db/x")
    assert found.returncode == 0 and "route ask` would stop here (exit 2)" in found.stderr
    assert "Xk9v2LqP7zR" not in found.stdout + found.stderr


def test_a_pasted_key_read_as_an_option_is_never_echoed(route):
    """`route ask "$(cat key.pem)"`: the argument starts with dashes, so the parser would take it for an option
    and print it in its error. route says what happened without repeating it, and how to pass it."""
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7" + "Zx9Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz" * 2
    pem = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
    result = route("ask", pem)
    assert result.returncode == 2
    assert body[:20] not in result.stdout + result.stderr and "put `--` before the prompt" in result.stderr
    after = route("explain", "--", pem)  # given after --, it is the prompt, and the secret scan keeps it home
    assert "a private key" in after.stdout and body[:20] not in after.stdout + after.stderr
