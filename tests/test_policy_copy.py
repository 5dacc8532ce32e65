"""A copy of the default policy (the obvious start of a customisation) decides and explains exactly as no policy.

Compared over every prompt of tests/data/labelled_prompts.yaml and data/heldout.jsonl: the whole `explain --json`
object (task, evidence with its file:line, complexity and its evidence, candidates, choice), once built in this
process for all the prompts, and through the `route explain --json` command for a sample of them.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import ALL_KEYS, DATA, REPO

from routecli.paths import get_paths
from routecli.policy.load import load_policy
from routecli.routing.inputs import Request
from routecli.routing.options import RequestOptions
from routecli.routing.plan import make_plan
from routecli.run.state import read_world
from routecli.ui.render import decision_dict


def _prompts() -> list[str]:
    labelled = [item["prompt"] for item in yaml.safe_load((DATA / "labelled_prompts.yaml").read_text())]
    lines = (REPO / "data" / "heldout.jsonl").read_text(encoding="utf-8").splitlines()
    heldout = [json.loads(line)["prompt"] for line in lines if line.strip()]
    return labelled + heldout


def _unnamed(text: str) -> str:
    """The default policy as it was written before rules had names (an old user's copy)."""
    text = re.sub(r"- name: [\w-]+\n\s+task:", "- task:", text)
    return re.sub(r"\{name: [\w-]+, ", "{", text)


COPIES = {
    "verbatim": lambda text: text,
    "unnamed": _unnamed,
    "models-and-providers": lambda text: text[: text.index("\n# candidates:")] + "\n",  # sections up to tasks
}


@pytest.fixture
def default_text() -> str:
    return (REPO / "routes.yaml").read_text(encoding="utf-8")


def _decisions(policy_path: str | None, prompts: list[str]) -> list[dict]:
    paths = get_paths()
    policy = load_policy(policy_path, paths.config_dir, None)
    world = read_world(policy, paths)
    options = RequestOptions()
    return [decision_dict(make_plan(Request(p), policy, world.prices, world.state, options).decision) for p in prompts]


@pytest.mark.parametrize("copy", sorted(COPIES))
def test_a_copy_of_the_default_changes_no_decision_and_no_evidence(home, tmp_path, monkeypatch, default_text, copy):
    for name, value in ALL_KEYS.items():
        monkeypatch.setenv(name, value)
    mine = tmp_path / "copy.yaml"
    mine.write_text(COPIES[copy](default_text), encoding="utf-8")
    if copy == "unnamed":
        assert "name:" not in mine.read_text()
    prompts = _prompts()
    assert len(prompts) > 700
    expected = _decisions(None, prompts)
    assert sum("chat +2" in e for d in expected for e in d["evidence"]) > 10  # rules did fire, and are compared
    got = _decisions(str(mine), prompts)
    differing = [(p, e, g) for p, e, g in zip(prompts, expected, got, strict=True) if e != g]
    assert differing == []


def test_a_copy_through_the_command(route, tmp_path, default_text):
    mine = tmp_path / "copy.yaml"
    mine.write_text(_unnamed(default_text), encoding="utf-8")
    for prompt in _prompts()[::40]:
        alone = route("explain", prompt, "--json", env=ALL_KEYS)
        copied = route("explain", prompt, "--json", "--policy", str(mine), env=ALL_KEYS)
        assert alone.returncode == copied.returncode == 0, copied.stderr
        assert alone.json() == copied.json(), prompt
    assert route("policy", "show", "--diff", "--policy", str(mine)).stdout == "No changes from the default policy.\n"


def test_a_trusted_copy_in_the_folder_raises_no_notice(route, home, default_text):
    """A copy of the default needs no trust, and it sends no key anywhere new: nothing to say about it."""
    (home.parent / "routes.yaml").write_text(default_text, encoding="utf-8")
    result = route("explain", "hello there", env=ALL_KEYS)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "key_routing" not in route("doctor", "--json").json()["policy"]
