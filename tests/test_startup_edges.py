"""The edges of a route process's start: Ctrl-C or SIGTERM while the CLI is still being imported, and a stdin that
was closed (`route ask hi <&-`). Real processes: only they have a start-up to interrupt and a descriptor to lack."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import _clean_env, provider_env
from fakeprovider import Reply

# Runs `python -m routecli ARGS` after planting a finder that signals this very process when start-up first imports
# MODULE: the stop lands in the middle of start-up's imports every time, not by the luck of a timer.
_SIGNALLED_DURING_IMPORTS = """
import importlib.machinery, os, runpy, signal, sys
STOP, MODULE = getattr(signal, sys.argv[1]), sys.argv[2]
class SignalOnImport:
    def find_spec(self, name, path=None, target=None):
        if name != MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run_module = spec.loader.exec_module
        def exec_module(module):  # the module is in sys.modules, still empty: half imported when the stop comes
            os.kill(os.getpid(), STOP)
            run_module(module)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, SignalOnImport())
sys.argv = ["routecli", *sys.argv[3:]]
runpy.run_module("routecli", run_name="__main__", alter_sys=True)
"""


@pytest.mark.process
@pytest.mark.parametrize("module", ["typer", "routecli.errors"])  # a library; route's own error types, half made
@pytest.mark.parametrize(("signal_name", "code"), [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_stop_while_the_cli_is_imported_exits_quietly(home, signal_name, code, module):
    result = subprocess.run([sys.executable, "-c", _SIGNALLED_DURING_IMPORTS, signal_name, module, "ask", "hi"],
                            capture_output=True, env=_clean_env(home), timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == code, result.stderr.decode()
    assert result.stderr == b"" and result.stdout == b""


def test_the_console_script_and_python_m_share_the_quiet_entry():
    import tomllib
    from pathlib import Path

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["route"] == "routecli.entry:main"
    assert (Path(__file__).resolve().parent.parent / "routecli" / "__main__.py").read_text().startswith(
        "from routecli.entry import main")


def _with_stdin_closed(home, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    full = {**_clean_env(home), **env}
    return subprocess.run(["sh", "-c", 'exec "$0" -m routecli "$@" <&-', sys.executable, *args],
                          capture_output=True, env=full, timeout=60)


@pytest.mark.process
def test_ask_with_stdin_closed_reads_no_stdin(home, fake_provider):
    fake_provider.script("anthropic", Reply(text="hi back"))
    result = _with_stdin_closed(home, provider_env(fake_provider), "ask", "hello there")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"hi back\n"


@pytest.mark.process
def test_chat_with_stdin_closed_is_a_session_with_no_turns(home, fake_provider):
    result = _with_stdin_closed(home, provider_env(fake_provider), "chat")
    assert result.returncode == 0, result.stderr.decode()
    assert b"Traceback" not in result.stderr and b"internal error" not in result.stderr
    assert fake_provider.requests == []




def test_the_entry_s_own_exit_codes_are_route_s():
    import signal

    from routecli import entry, errors

    assert entry.INTERRUPTED == errors.EXIT_INTERRUPTED
    assert entry._Stopped(signal.SIGTERM).exit_code == errors.EXIT_TERMINATED
    assert entry._Stopped(signal.SIGHUP).exit_code == errors.EXIT_HANGUP
