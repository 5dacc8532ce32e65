"""Bad input: one line on stderr, a distinct exit code, never a traceback."""

from __future__ import annotations

from conftest import ALL_KEYS


def _one_line(result, code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_empty_prompt(route):
    _one_line(route("explain"), 3, "empty prompt")
    _one_line(route("explain", "   ", input="  \n"), 3, "empty prompt")


def test_binary_input_is_refused_with_its_name(route, tmp_path):
    blob = tmp_path / "photo.png"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    _one_line(route("explain", "describe", "-f", str(blob)), 3, "photo.png", "binary")
    _one_line(route("explain", input=b"\x00\x01\x02binary"), 3, "stdin", "binary")


def test_missing_file_and_directory(route, tmp_path):
    _one_line(route("explain", "x", "-f", str(tmp_path / "nope.txt")), 3, "nope.txt")
    _one_line(route("explain", "x", "-f", str(tmp_path)), 3, "directory")


def test_unknown_task_model_profile(route):
    _one_line(route("explain", "hi", "--task", "dance"), 2, "unknown task 'dance'")
    _one_line(route("explain", "hi", "-m", "gpt-17"), 2, "unknown model 'gpt-17'")
    _one_line(route("explain", "hi", "--profile", "lavish"), 2, "unknown profile 'lavish'")


def test_bad_flag_is_usage_error(route):
    result = route("explain", "hi", "--complexity", "11")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_too_large_for_every_model(route):
    text = ("word " * 200 + "\n") * 6000  # 1.2M words: more tokens than any window
    result = route("explain", "what is the main point?", "--task", "chat", "--json", input=text, env=ALL_KEYS)
    assert result.returncode == 4
    assert "too large for every model" in result.stderr and "route summarize" in result.stderr
    data = result.json()
    assert data["chosen"] is None
    assert all(not c["eligible"] for c in data["candidates"])
    assert data["tokens_exact"] is False  # the lower bound alone decided it


def test_files_globs_and_labels(route, tmp_path):
    (tmp_path / "a.md").write_text("alpha notes")
    (tmp_path / "b.md").write_text("beta notes")
    latin = tmp_path / "c.txt"
    latin.write_bytes("café crème".encode("latin-1"))
    result = route("explain", "summarize these", "-f", str(tmp_path / "*.md"), "-f", str(latin), "--json", env=ALL_KEYS)
    assert result.returncode == 0, result.stderr
    assert "Latin-1" in result.stderr
    assert result.json()["task"] == "summarize"



def test_a_file_whose_name_looks_like_a_glob_is_read_as_named(tmp_path, monkeypatch):
    """`-f 'a[1].txt'` names a file that exists: it is that file, not the pattern (which would match `a1.txt`)."""
    from routecli.routing.inputs import gather

    (tmp_path / "a[1].txt").write_text("the bracketed one")
    (tmp_path / "a1.txt").write_text("the pattern's match")
    monkeypatch.chdir(tmp_path)
    request = gather("summarize", ["a[1].txt"], stdin_data=b"")
    assert [a.name for a in request.attachments] == ["a[1].txt"]
    assert [a.name for a in gather("summarize", ["a[0-9].txt"], stdin_data=b"").attachments] == ["a1.txt"]


def test_the_same_file_given_twice_is_attached_once(tmp_path, monkeypatch):
    from routecli.routing.inputs import gather

    (tmp_path / "a.md").write_text("alpha notes")
    (tmp_path / "b.md").write_text("beta notes")
    monkeypatch.chdir(tmp_path)
    request = gather("compare", ["a.md", "*.md", "./a.md", str(tmp_path / "b.md")], stdin_data=b"")
    assert [a.name for a in request.attachments] == ["a.md", "b.md"]  # first given, first attached
    assert request.prompt().count("alpha notes") == 1 and request.prompt().count("beta notes") == 1

def test_utf16_with_bom(route, tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes("hello there".encode("utf-16"))
    result = route("explain", "-f", str(path), "--json", env=ALL_KEYS)
    assert result.returncode == 0, result.stderr
    assert "UTF-16" in result.stderr


def test_too_large_summary_becomes_a_plan(route):
    text = ("word " * 200 + "\n") * 6000
    result = route("explain", "--json", input=text, env=ALL_KEYS)
    assert result.returncode == 0, result.stderr
    data = result.json()
    assert data["task"] == "summarize" and data["plan"]["kind"] == "map-reduce"
