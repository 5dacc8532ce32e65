"""A broken policy reports all its problems in one run, each at its file:line; `route policy validate` with no file
checks the policy in effect, naming each file."""

from __future__ import annotations

from pathlib import Path

from conftest import REPO

BROKEN = """\
models:
  tiny:
    provider: openai
    speed: warp
  other:
    provider: nowhere
    id: o
    context: lots
    max_output: 10
    tier: 1
tasks:
  chat:
    candidates: [tiny, gpt-17]
classify:
  rules:
    - {task: code, patterns: ['(unclosed']}
    - {name: x, task: nonsense, patterns: [a]}
budgets:
  on_exceed: explode
  colour: blue
"""

EXPECTED = [  # line, what the message says
    (3, "model 'tiny' needs 'id', 'context', 'max_output', 'tier'"),  # three runs and more, before
    (4, "model 'tiny': speed must be one of"),
    (6, "unknown provider 'nowhere'"),
    (8, "models.other.context must be a positive integer"),  # and no "needs 'context'" for it
    (13, "unknown model 'gpt-17'"),  # and none for 'tiny', broken but declared
    (16, "invalid regular expression"),
    (17, "unknown task 'nonsense'"),
    (19, "budgets.on_exceed must be one of"),
    (20, "unknown key 'budgets.colour'"),
]


def _write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_in_one_run(route, tmp_path):
    bad = _write(tmp_path, BROKEN)
    for args in (("policy", "validate", str(bad)), ("explain", "hi", "--policy", str(bad))):
        result = route(*args)
        assert result.returncode == 2 and result.stdout == "" and "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == len(EXPECTED), result.stderr
        for text, (line, needle) in zip(lines, EXPECTED, strict=True):
            assert text.startswith(f"route: error: {bad}:{line}: ") and needle in text, text


def test_problems_across_the_schema_merge_and_build_stages(route, tmp_path):
    bad = _write(
        tmp_path,
        "classify:\n  rules:\n    - {name: chatty, enabled: false}\n"  # only the merge sees this one
        "    - {name: y, task: code, weight: heavy, patterns: [a]}\n"  # the schema sees this one
        "tasks:\n  chat:\n    candidates: [nope]\n",  # and the build this one
    )
    lines = route("policy", "validate", str(bad)).stderr.strip().splitlines()
    assert [line.split(": ")[2].split(":")[-1] for line in lines] == ["3", "4", "7"], lines


def test_doctor_names_the_first_problem_and_counts_the_rest(route, tmp_path):
    bad = _write(tmp_path, BROKEN)
    data = route("doctor", "--json", "--policy", str(bad)).json()
    assert (
        data["policy"]["error"].startswith(f"{bad}:3: model 'tiny' needs") and "and 8 more" in data["policy"]["error"]
    )
    assert len(data["policy"]["errors"]) == len(EXPECTED)


def test_validate_without_a_file_checks_the_active_policy(route, tmp_path, home):
    result = route("policy", "validate")
    assert result.returncode == 0 and result.stdout == f"ok: {REPO / 'routes.yaml'} (14 models, 7 tasks)\n"
    mine = _write(tmp_path, "models:\n  claude-haiku:\n    tier: 3\n", "mine.yaml")
    result = route("policy", "validate", env={"ROUTE_POLICY": str(mine)})
    assert result.stdout == f"ok: {REPO / 'routes.yaml'} with {mine} merged over it (14 models, 7 tasks)\n"
    config = home / "config" / "routes.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(BROKEN, encoding="utf-8")
    result = route("policy", "validate")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == len(EXPECTED)
    assert all(f"{config}:" in line for line in result.stderr.strip().splitlines())


def test_a_folder_policy_not_yet_trusted_is_named(route, home):
    (home.parent / "routes.yaml").write_text("budgets:\n  per_day: 1\n", encoding="utf-8")
    result = route("policy", "validate")
    assert result.returncode == 0 and "routes.yaml is not applied until trusted" in result.stderr
    assert result.stdout == f"ok: {REPO / 'routes.yaml'} (14 models, 7 tasks)\n"


def test_a_key_written_twice_does_not_hide_the_rest(route, tmp_path):
    """A copy of the default with a second `models:` section added at the end is the usual way to get here."""
    bad = _write(tmp_path, "models:\n  claude-haiku: {tier: 3}\nbudgets:\n  on_exceed: explode\nmodels:\n  x: {}\n")
    lines = route("policy", "validate", str(bad)).stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert f"{bad}:4: budgets.on_exceed" in lines[0] and f"{bad}:5: duplicate key 'models'" in lines[1]


def test_a_version_from_the_future_and_a_tier_off_the_scale_are_refused(route, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 7\nmodels:\n  claude-haiku:\n    tier: 9\n")
    result = route("policy", "validate", str(policy))
    assert result.returncode == 2
    assert "p.yaml:1: version 7 is not known" in result.stderr
    assert "p.yaml:4: model 'claude-haiku': tier must be 1 to 4 (got 9)" in result.stderr


def test_a_map_reduce_chunk_below_the_smallest_is_refused_at_its_line(route, tmp_path):
    """Chunks are never cut below 1,000 tokens: a smaller setting passed validation, then failed every big summary."""
    path = tmp_path / "mr.yaml"
    path.write_text("map_reduce:\n  above_tokens: 300\n  chunk_tokens: 200\n", encoding="utf-8")
    result = route("policy", "validate", str(path))
    assert result.returncode == 2, result.stderr
    assert f"{path}:3: map_reduce.chunk_tokens must be a number of tokens of at least 1,000" in result.stderr
    assert "above_tokens" not in result.stderr  # map-reducing from 300 tokens is odd, not wrong
