"""Discovery of local servers: the fake provider's Ollama flavor lists models, a closed port lists nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fakeprovider import FakeProvider, closed_port

from routecli.errors import PolicyError
from routecli.local import discover as disc
from routecli.paths import get_paths
from routecli.policy.environment import read_environment
from routecli.policy.load import load_policy


def _policy(tmp_path: Path, ollama_probe: list[Any], llamacpp_probe: list[Any] | None = None) -> Any:
    """The default policy with discovery on for ollama, and for llamacpp if asked (never on the real 8080:
    a developer's llama-server must not leak into these tests)."""
    lines = ["providers:", "  ollama:", "    discover: true", f"    probe: {json.dumps(ollama_probe)}"]
    lines += ["  llamacpp:", "    wire: openai", "    base_url: http://127.0.0.1:8080/v1", "    local: true"]
    if llamacpp_probe is not None:
        lines += ["    discover: true", f"    probe: {json.dumps(llamacpp_probe)}"]
    else:
        lines += ["    discover: false"]
    lines += ["  lmstudio:", "    discover: false"]  # nor a developer's LM Studio
    path = tmp_path / "discover.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    paths = get_paths()
    return load_policy(str(path), paths.config_dir, None)


def test_fake_ollama_models_become_free_local_candidates(home: Path, tmp_path: Path, fake_provider: FakeProvider):
    url = fake_provider.base_url("ollama")
    policy = _policy(tmp_path, [url], [closed_port()])
    found = disc.discover(policy, get_paths())

    assert found.providers == {"ollama"} and found.base_urls == {"ollama": url}
    assert [m.alias for m in found.models] == ["ollama/fake-mini", "ollama/fake-large"]
    mini = found.models[0]
    assert (mini.provider, mini.model_id, mini.tier, mini.context) == ("ollama", "fake-mini", 1, disc.DEFAULT_CONTEXT)
    assert mini.price is not None and (mini.price.input, mini.price.output) == (Decimal(0), Decimal(0))
    assert set(mini.strengths) == {"chat", "summarize", "extract"}

    merged = disc.with_discovered(policy, found)
    environment = read_environment(merged)
    assert merged.discovered == {"ollama"} and environment.local_enabled >= {"ollama"}
    assert environment.base_url("ollama") == url
    for task in ("chat", "summarize", "extract"):
        assert merged.tasks[task].candidates[-2:] == ("ollama/fake-mini", "ollama/fake-large")
        # the static `local` model (llama3.2:3b) is not on that server: it would only fail first
        assert "local" not in merged.tasks[task].candidates
    assert "ollama/fake-mini" not in merged.tasks["code"].candidates
    assert "local" in merged.models  # still known, so `-m local` keeps working
    assert len(policy.tasks["chat"].candidates) == 3  # the original policy is untouched


def test_discovered_model_wins_under_local_and_cheap(home: Path, tmp_path: Path, fake_provider: FakeProvider):
    from routecli.routing.inputs import gather
    from routecli.routing.options import RequestOptions
    from routecli.routing.plan import make_plan
    from routecli.run.state import read_world

    policy = disc.apply(_policy(tmp_path, [fake_provider.base_url("ollama")]), get_paths())
    request = gather("hello there", None, None, stdin_data=b"")
    world = read_world(policy, get_paths())
    for options in (RequestOptions(task="chat", local_only=True), RequestOptions(task="chat", profile="cheap")):
        plan = make_plan(request, policy, world.prices, world.state, options)
        assert plan.decision.chosen == "ollama/fake-mini", plan.decision.reason
    # balanced, average complexity: chat needs tier 2 (a greeting's low complexity would drop it to 1)
    balanced = make_plan(request, policy, world.prices, world.state, RequestOptions(task="chat", complexity=5))
    assert "tier 1 below required 2" in balanced.decision.verdict("ollama/fake-mini").why


def test_closed_port_finds_nothing_quickly_and_the_silence_is_cached(home: Path, tmp_path: Path):
    policy = _policy(tmp_path, [closed_port()], [closed_port(), closed_port()])
    started = time.monotonic()
    found = disc.discover(policy, get_paths())
    assert time.monotonic() - started < 0.5
    assert found.models == () and found.providers == frozenset() and not found.from_cache
    assert disc.with_discovered(policy, found).silent == {"ollama", "llamacpp"}  # excluded, not tried
    assert disc.discover(policy, get_paths()).from_cache  # no probe on the next run


def test_cache_serves_fresh_answers_and_expires(home: Path, tmp_path: Path, fake_provider: FakeProvider):
    policy = _policy(tmp_path, [fake_provider.base_url("ollama")])
    now = time.time()
    first = disc.discover(policy, get_paths(), now=now)
    asked = len(fake_provider.requests_for("ollama"))
    again = disc.discover(policy, get_paths(), now=now + 30)
    assert again.from_cache and [m.alias for m in again.models] == [m.alias for m in first.models]
    assert len(fake_provider.requests_for("ollama")) == asked
    assert not disc.discover(policy, get_paths(), now=now + disc.TTL + 1).from_cache
    assert len(fake_provider.requests_for("ollama")) == asked + 1
    disc.invalidate(get_paths())
    assert not disc.discover(policy, get_paths()).from_cache


def test_base_url_env_is_probed_instead_of_the_list(
    home: Path, tmp_path: Path, fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
):
    policy = _policy(tmp_path, [closed_port()])
    assert disc.discover(policy, get_paths()).models == ()
    monkeypatch.setenv("OLLAMA_BASE_URL", fake_provider.base_url("ollama"))  # a new key: the cache is bypassed
    assert len(disc.discover(policy, get_paths()).models) == 2


def test_first_answering_probe_wins_and_becomes_the_base_url(home: Path, tmp_path: Path, fake_provider: FakeProvider):
    url = fake_provider.base_url("ollama")
    policy = _policy(tmp_path, [closed_port()], [closed_port(), url])
    found = disc.discover(policy, get_paths())
    assert found.base_urls == {"llamacpp": url}
    merged = disc.with_discovered(policy, found)
    assert merged.providers["llamacpp"].base_url == url
    # ollama did not answer: its static model stays, after the models that did answer
    assert merged.tasks["chat"].candidates[-3:] == ("llamacpp/fake-mini", "llamacpp/fake-large", "local")
    assert found.silent == {"ollama"}


def test_switched_off(home: Path, tmp_path: Path, fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ROUTE_DISCOVER", "0")
    assert disc.discover(_policy(tmp_path, [fake_provider.base_url("ollama")]), get_paths()).models == ()
    assert fake_provider.requests_for("ollama") == []


def test_a_server_that_never_answers_costs_at_most_the_timeout(home: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(disc, "PROBE_TIMEOUT", 0.3)  # the product's own (conftest gives the tests more room)
    with socket.socket() as silent:  # accepts connections (the kernel does) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        policy = _policy(tmp_path, [silent.getsockname()[1]])
        started = time.monotonic()
        assert disc.discover(policy, get_paths()).models == ()
        assert time.monotonic() - started < disc.PROBE_TIMEOUT + 1.5  # not the HTTP client's own timeout


class _LlamaServer(BaseHTTPRequestHandler):
    """What llama-server answers: /v1/models with meta (trained context, parameters), /props (the real n_ctx)."""

    def do_GET(self) -> None:
        bodies = {
            "/v1/models": {
                "object": "list",
                "data": [
                    {
                        "id": "/models/Qwen2.5-32B-Instruct-Q4_K_M.gguf",
                        "object": "model",
                        "owned_by": "llamacpp",
                        "meta": {"n_ctx_train": 32768, "n_params": 32_763_876_352},
                    },
                    {"id": "nomic-embed-text", "object": "model", "owned_by": "llamacpp"},
                ],
            },
            "/props": {"default_generation_settings": {"n_ctx": 8192}},
        }
        body = json.dumps(bodies.get(self.path, {"error": "not found"})).encode()
        self.send_response(200 if self.path in bodies else 404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def llama_like() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LlamaServer)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_llama_cpp_context_parameters_and_path_ids(home: Path, tmp_path: Path, llama_like: int):
    policy = _policy(tmp_path, [closed_port()], [llama_like])
    (model,) = disc.discover(policy, get_paths()).models  # the embedding model is skipped
    assert model.alias == "llamacpp/Qwen2.5-32B-Instruct-Q4_K_M"
    assert model.model_id == "/models/Qwen2.5-32B-Instruct-Q4_K_M.gguf"
    assert (model.context, model.max_output) == (8192, 2048)  # /props n_ctx, not the trained 32768
    assert (model.tier, model.speed) == (2, "standard")  # 32.8B parameters from meta


@pytest.mark.parametrize(
    ("name", "billions"),
    [
        ("llama3.2:3b", 3.0),
        ("qwen2.5:0.5b", 0.5),
        ("SmolLM2-135M-Instruct", 0.135),
        ("mixtral:8x7b", 56.0),
        ("qwen3-30b-a3b", 30.0),
        ("llama3.3:70b", 70.0),
        ("mistral", None),
        ("model-8bit", None),
    ],
)
def test_parameters_from_names(name: str, billions: float | None):
    found = disc.params_from_name(name)
    assert found is None if billions is None else found == pytest.approx(billions)


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ("  openai:\n    discover: true\n", "discover needs 'local: true'"),
        ("  ollama:\n    probe: [0]\n", "a list of loopback ports"),
        ("  ollama:\n    probe: [localhost:11434]\n", "a list of loopback ports"),
    ],
)
def test_policy_checks_discovery_keys(home: Path, tmp_path: Path, provider: str, message: str):
    path = tmp_path / "bad.yaml"
    path.write_text("providers:\n" + provider, encoding="utf-8")
    with pytest.raises(PolicyError, match=message):
        load_policy(str(path), get_paths().config_dir, None)


def test_probe_targets_normalised(home: Path, tmp_path: Path):
    policy = _policy(tmp_path, [11434, "http://127.0.0.1:1234", "http://127.0.0.1:9/api/v1/"])
    assert policy.providers["ollama"].probe == (
        "http://127.0.0.1:11434/v1",
        "http://127.0.0.1:1234/v1",
        "http://127.0.0.1:9/api/v1",
    )


def test_a_damaged_cache_is_probed_again(home: Path, tmp_path: Path, fake_provider: FakeProvider):
    policy = _policy(tmp_path, [fake_provider.base_url("ollama")])
    disc.discover(policy, get_paths())
    cache = get_paths().cache_dir / disc.CACHE_NAME
    data = json.loads(cache.read_text())
    data["servers"]["ollama"]["models"] = [{"name": "no id"}]
    cache.write_text(json.dumps(data))
    again = disc.discover(policy, get_paths())
    assert not again.from_cache and len(again.models) == 2


def test_a_remote_provider_on_a_probed_port_is_not_mistaken_for_a_local_one(
    home: Path, tmp_path: Path, fake_provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
):
    url = fake_provider.base_url("ollama")  # answers /models, like any OpenAI-compatible server
    policy = _policy(tmp_path, [url])
    monkeypatch.setenv("OPENAI_BASE_URL", fake_provider.base_url("openai"))  # same host and port: it is OpenAI
    assert disc.discover(policy, get_paths(), refresh=True).models == ()
    monkeypatch.setenv("OLLAMA_BASE_URL", url)  # named by the user as the local server: asked all the same
    assert len(disc.discover(policy, get_paths(), refresh=True).models) == 2


def test_local_with_no_server_answering_is_a_clear_no_model(route, tmp_path: Path):
    """--local, nothing on the probed port: exit 5 naming the silent server, not a failed call (exit 7)."""
    policy = tmp_path / "p.yaml"
    policy.write_text(
        f"providers:\n  ollama:\n    probe: [{closed_port()}]\n  llamacpp:\n    discover: false\n"
        "  lmstudio:\n    discover: false\n",
        encoding="utf-8",
    )
    result = route("ask", "hello there", "--local", "--policy", str(policy), env={"ROUTE_DISCOVER": "1"})
    assert result.returncode == 5, result.stderr
    assert "no local server answering (ollama" in result.stderr and result.stdout == ""
    # a server the user names is tried all the same: here it refuses, so the call fails (exit 7)
    named = route(
        "ask", "hello there", "--local", "--policy", str(policy),
        env={"ROUTE_DISCOVER": "1", "OLLAMA_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1"},
    )  # fmt: skip
    assert named.returncode == 7 and "Connection refused" in named.stderr


LOCAL_NAMES = ("ollama", "llamacpp", "lmstudio")


def test_local_with_discovery_off_and_no_server_answering_is_exit_5(route, tmp_path: Path):
    """ROUTE_DISCOVER=0: nothing is probed, the local servers are tried blind; none answering is exit 5 too."""
    policy = tmp_path / "p.yaml"
    servers = "".join(f"  {name}:\n    base_url: http://127.0.0.1:{closed_port()}/v1\n" for name in LOCAL_NAMES)
    policy.write_text("providers:\n" + servers, encoding="utf-8")
    result = route("ask", "hello there", "--local", "--policy", str(policy), env={"ROUTE_DISCOVER": "0"})
    assert result.returncode == 5, result.stderr
    assert "no local server answering (ollama" in result.stderr and result.stdout == ""
    assert result.stderr.count("\n") == 1  # one line, no traceback


@pytest.mark.parametrize("name", ["budget", "homebox"])
def test_a_provider_name_never_changes_the_verdict(route, tmp_path: Path, name: str):
    """Exclusions are typed: a silent local provider named "budget" is "no local server answering" (exit 5),
    exactly as under any other name, never "refused by budget" (exit 6)."""
    policy = tmp_path / "p.yaml"
    policy.write_text(
        f"providers:\n  {name}:\n    wire: openai\n    base_url: http://127.0.0.1:{closed_port()}/v1\n"
        f"    local: true\n    discover: true\n    probe: [{closed_port()}]\n"
        "  ollama:\n    discover: false\n  llamacpp:\n    discover: false\n  lmstudio:\n    discover: false\n"
        f"models:\n  box-model:\n    provider: {name}\n    id: box-1\n    context: 8192\n    max_output: 2048\n"
        "    tier: 2\n    price: {input: 0, output: 0}\n"
        "tasks:\n  chat:\n    candidates: [box-model]\n",
        encoding="utf-8",
    )
    result = route("ask", "hello there", "--local", "--policy", str(policy), env={"ROUTE_DISCOVER": "1"})
    assert result.returncode == 5, result.stderr
    assert f"box-model: no local server answering ({name}" in result.stderr
    assert "refused by budget" not in result.stderr


def test_a_port_where_nothing_listens_costs_no_http_client():
    """The usual case (no local server started) is settled by a refused connection: httpx2 (~50 ms to import)
    is not loaded, so a run whose discovery cache has expired starts as fast as any other."""
    port = closed_port()
    code = (
        "import sys; from routecli.local import discover as d; "
        f"found = d.probe({{'ollama': ['http://127.0.0.1:{port}/v1', 'http://localhost:{port}/v1']}}); "
        "print(found, 'httpx2' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60, env=env)
    assert out.stdout.split() == ["{}", "False"], out.stderr
