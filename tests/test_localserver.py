"""`route local serve` failures are one clear line: a missing model file, a port already taken, a server
that exits before answering (with the reason from its log). No real llama-server is needed here."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from routecli.local.server import LocalServerError, serve


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF")
    return path


@pytest.fixture
def failing_server(tmp_path: Path) -> Path:
    script = tmp_path / "llama-server"
    script.write_text("#!/bin/sh\necho 'loading model'\necho 'error: cannot load tiny.gguf'\nexit 1\n")
    script.chmod(0o755)
    return script


def test_missing_model_file(tmp_path: Path, failing_server: Path):
    with pytest.raises(LocalServerError, match="no model file at"):
        serve(_free_port(), tmp_path / "absent.gguf", server=failing_server)


def test_port_already_taken(model: Path, failing_server: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(LocalServerError, match=f"port {port} .* already in use"):
            serve(port, model, server=failing_server)


@pytest.mark.process
def test_server_that_exits_early_says_why(tmp_path: Path, model: Path, failing_server: Path):
    log = tmp_path / "server.log"
    with pytest.raises(LocalServerError, match=r"exited with code 1 before answering: error: cannot load tiny\.gguf"):
        serve(_free_port(), model, server=failing_server, log=log, timeout=10)
