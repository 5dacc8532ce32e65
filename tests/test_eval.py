"""`route eval FILE`: the router over a labelled set, no call made; and the CI floor over the held-out set."""

from __future__ import annotations

import json

import pytest
from conftest import REPO

from routecli.errors import EXIT_BELOW_FLOOR, EXIT_INPUT, EXIT_USAGE

HELDOUT = REPO / "data" / "heldout.jsonl"
LABELLED = REPO / "tests" / "data" / "labelled_prompts.yaml"
# Measured on data/heldout.jsonl with the default policy: 0.936 overall, the lowest task extract at 0.896.
HELDOUT_FLOOR = 0.93
TASK_FLOOR = 0.85


def test_ci_floor_on_the_heldout_set(route):
    """What CI runs: the committed held-out set through `route eval`, overall and per-task floors."""
    result = route("eval", str(HELDOUT), "--min-accuracy", str(HELDOUT_FLOOR),
                   "--min-task-accuracy", str(TASK_FLOOR), "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["prompts"] == 849
    assert report["accuracy"] >= HELDOUT_FLOOR
    assert all(t["accuracy"] >= TASK_FLOOR for t in report["tasks"].values()), report["tasks"]
    assert report["seconds"] < 30  # 849 prompts take about a second here; generous on a loaded machine


def test_the_table_fits_80_columns_and_says_the_world_is_neutral(route):
    result = route("eval", str(HELDOUT), "--vs", "claude-opus")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    widths = [line for line in lines if str(HELDOUT) not in line]  # a path is as long as it is
    assert max(len(line) for line in widths) <= 80, max(widths, key=len)
    assert "every provider's key assumed present; no cooldowns, nothing spent," in result.stdout
    assert "confusion (rows: expected task, columns: routed task)" in result.stdout
    header = next(line for line in lines if line.split()[:3] == ["chat", "summ", "code"])
    assert header.split() == ["chat", "summ", "code", "reas", "crea", "extr", "safe"]
    assert "expected output in tokens" in result.stdout and "chat 300" in result.stdout
    assert "always claude-opus" in result.stdout and "routing saves" in result.stdout
    assert result.stderr == ""


def test_below_a_floor_exits_9_after_the_report(route):
    low = route("eval", str(LABELLED), "--min-accuracy", "0.999")
    assert low.returncode == EXIT_BELOW_FLOOR
    assert "accuracy" in low.stdout  # the report is still printed
    assert low.stderr.count("\n") == 1 and "below the floor: accuracy 0.9" in low.stderr
    task = route("eval", str(LABELLED), "--min-task-accuracy", "reasoning=0.99", "--json")
    assert task.returncode == EXIT_BELOW_FLOOR and "reasoning 0.889 < 0.99" in task.stderr
    assert task.json()["tasks"]["reasoning"]["accuracy"] < 0.99
    every = route("eval", str(LABELLED), "--min-task-accuracy", "0.9")
    assert every.returncode == EXIT_BELOW_FLOOR and "reasoning" in every.stderr and "chat" not in every.stderr
    met = route("eval", str(LABELLED), "--min-accuracy", "0.9", "--min-task-accuracy", "0.85")
    assert met.returncode == 0, met.stderr


def test_the_yaml_set_in_json(route):
    result = route("eval", str(LABELLED), "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["prompts"] == sum(t["count"] for t in report["tasks"].values()) == 123
    matrix = report["confusion"]
    assert sum(sum(row.values()) for row in matrix.values()) == 123
    assert sum(matrix[t][t] for t in matrix) == report["correct"]
    assert len(report["misses"]) == 123 - report["correct"]
    chat = report["tasks"]["chat"]
    assert chat["precision"] == chat["correct"] / chat["predicted"] and chat["recall"] == chat["accuracy"]
    assert report["world"]["keys"] == "all assumed present"


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_acceptable_models_and_tiers(route, tmp_path):
    lines = [
        {"prompt": "hi there", "task": "chat", "acceptable_models": ["claude-haiku"], "min_tier": 1},
        {"prompt": "hi there", "task": "chat", "acceptable_models": ["claude-opus", "gpt"], "min_tier": 4},
        {"prompt": "thanks!", "task": "chat"},
    ]
    path = _write(tmp_path, "set.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    result = route("eval", path, "--json")
    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["models"] == {"claude-haiku": 3}
    assert report["acceptable_models"] == {"checked": 2, "met": 1, "rate": 0.5}
    assert report["min_tier"] == {"checked": 2, "met": 1, "rate": 0.5}
    text = route("eval", path)
    assert "acceptable model  50.0% (1/2)" in text.stdout and "minimum tier met  50.0% (1/2)" in text.stdout


def test_tokens_stand_for_a_larger_input(route, tmp_path):
    """`tokens` (or `size` in bytes) routes the prompt as if it were that long: a window must hold it."""
    small = _write(tmp_path, "small.jsonl", json.dumps({"prompt": "summarize this report", "task": "summarize"}))
    big = _write(tmp_path, "big.jsonl", json.dumps({"prompt": "summarize this report", "task": "summarize",
                                                    "tokens": 150_000}))
    sized = _write(tmp_path, "sized.jsonl", json.dumps({"prompt": "summarize this report", "task": "summarize",
                                                        "size": 600_000}))
    chosen = {name: route("eval", path, "--json").json() for name, path in
              (("small", small), ("big", big), ("sized", sized))}
    assert chosen["small"]["models"] != chosen["big"]["models"]
    assert chosen["big"]["cost"]["routed_usd"] > 100 * chosen["small"]["cost"]["routed_usd"]
    assert chosen["sized"]["models"] == chosen["big"]["models"]


def test_real_keys_instead_of_the_neutral_world(route, tmp_path):
    path = _write(tmp_path, "set.jsonl", json.dumps({"prompt": "hi there", "task": "chat"}))
    neutral = route("eval", path, "--json").json()
    real = route("eval", path, "--json", "--real-keys").json()  # the tests' environment holds no key
    assert neutral["cost"]["unrouted"] == 0 and real["cost"]["unrouted"] == 1
    assert real["world"]["keys"] == "real"
    keyed = route("eval", path, "--json", "--real-keys", env={"ANTHROPIC_API_KEY": "sk-ant-test-0001"}).json()
    assert keyed["models"] == {"claude-haiku": 1}


def test_a_profile_shapes_every_decision(route):
    balanced = route("eval", str(LABELLED), "--json").json()
    best = route("eval", str(LABELLED), "--json", "--profile", "best").json()
    assert best["cost"]["routed_usd"] > balanced["cost"]["routed_usd"]
    assert route("eval", str(LABELLED), "--profile", "nope").returncode == EXIT_USAGE


def test_vs_prices_the_same_set_at_one_model(route):
    report = route("eval", str(LABELLED), "--json", "--vs", "claude-opus").json()
    vs = report["cost"]["vs"]
    assert vs["model"] == "claude-opus" and vs["cost_usd"] > report["cost"]["routed_usd"] > 0
    assert vs["saved_usd"] == pytest.approx(vs["cost_usd"] - report["cost"]["routed_usd"])
    unknown = route("eval", str(LABELLED), "--vs", "no-such-model")
    assert unknown.returncode == EXIT_USAGE and "unknown model 'no-such-model'" in unknown.stderr


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("bad.jsonl", '{"prompt": "hi", "task": "chat"}\n\n{"prompt": "oops", \n', ":3: not a JSON object"),
        ("bad.jsonl", '{"prompt": "hi", "task": "chat"}\n{"prompt": "x", "task": "poetry"}\n', ":2: 'task' must be"),
        ("bad.jsonl", '{"prompt": "", "task": "chat"}\n', ":1: 'prompt' must be a non-empty string"),
        ("bad.jsonl", '["hi", "chat"]\n', ":1: expected an object"),
        ("bad.jsonl", '{"prompt": "hi", "task": "chat", "min_tier": "high"}\n', ":1: 'min_tier' must be a whole"),
        ("bad.jsonl", '{"prompt": "hi", "task": "chat", "acceptable_models": "gpt"}\n', ":1: 'acceptable_models'"),
        ("bad.yaml", "- prompt: hi\n  task: chat\n- prompt: there\n  tasks: chat\n", ":3: 'task' must be"),
        ("bad.yaml", "- prompt: hi\n  task: chat\n- prompt: [unclosed\n", ":4: YAML syntax error"),
        ("bad.yaml", "prompt: hi\ntask: chat\n", ":1: expected a list"),
    ],
)
def test_a_malformed_entry_is_one_line_naming_file_and_line(route, tmp_path, name, text, where):
    path = _write(tmp_path, name, text)
    result = route("eval", path)
    assert result.returncode == EXIT_USAGE, result
    assert result.stderr.startswith("route: ") and f"{path}{where}" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and result.stdout == ""


def test_unreadable_or_empty_input_and_bad_floors(route, tmp_path):
    missing = route("eval", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == EXIT_INPUT and "cannot read" in missing.stderr
    empty = route("eval", _write(tmp_path, "empty.yaml", "# nothing yet\n"))
    assert empty.returncode == EXIT_INPUT and "no labelled prompts" in empty.stderr
    unknown = route("eval", str(LABELLED), "--json", "--acceptable", "x")
    assert unknown.returncode == EXIT_USAGE
    for bad in ("poetry=0.9", "code=high", "1.5"):
        result = route("eval", str(LABELLED), "--min-task-accuracy", bad)
        assert result.returncode == EXIT_USAGE and "--min-task-accuracy" in result.stderr, bad
    model = _write(tmp_path, "model.jsonl", json.dumps({"prompt": "hi", "task": "chat", "acceptable_models": ["x"]}))
    result = route("eval", model)
    assert result.returncode == EXIT_USAGE and "line 1: unknown model 'x'" in result.stderr


@pytest.mark.process
def test_no_labelled_input_can_exhaust_memory(route, route_process, monkeypatch):
    """/dev/zero is refused at its first NUL, an endless stream of valid lines past a limit; `-` reads stdin."""
    zero = route("eval", "/dev/zero")
    assert zero.returncode == EXIT_INPUT and "binary input" in zero.stderr
    from routecli.run import labelled

    monkeypatch.setattr(labelled, "MAX_LABELLED_BYTES", 1 << 20)  # in-process: a smaller limit, the same rule
    endless = route("eval", "-", input=json.dumps({"prompt": "hi", "task": "chat"}) + "\n" * 1 + "x" * (2 << 20))
    assert endless.returncode == EXIT_INPUT and "larger than 1 MiB" in endless.stderr
    piped = route_process("eval", "-", "--json", input=json.dumps({"prompt": "hello there", "task": "chat"}) + "\n")
    assert piped.returncode == 0 and piped.json()["prompts"] == 1, piped.stderr
