"""A bug inside route is one line and exit code EXIT_BUG for the user; --debug shows the traceback instead.
In-process, so the bug can be planted with monkeypatch."""

from __future__ import annotations

import pytest

from routecli.errors import EXIT_BUG
from routecli.routing import plan as planner


def _planted_bug(*args: object, **kwargs: object) -> None:
    raise RuntimeError("planted bug")


def test_an_internal_error_is_one_line_and_exit_bug(route, monkeypatch):
    monkeypatch.setattr(planner, "make_plan", _planted_bug)
    result = route("explain", "hi")
    assert result.returncode == EXIT_BUG
    assert result.stderr.splitlines() == [
        "route: error: internal error: RuntimeError: planted bug (run with --debug for the traceback)"
    ]
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [("--debug", "explain", "hi"), ("explain", "hi", "--debug"), ("explain", "--debug", "hi")],  # after the command too
)
def test_debug_lets_the_traceback_through(route, monkeypatch, args):
    monkeypatch.setattr(planner, "make_plan", _planted_bug)
    with pytest.raises(RuntimeError, match="planted bug"):  # a real process prints it and exits 1
        route(*args)


def test_debug_after_two_dashes_is_the_prompt(route, monkeypatch):
    seen: list[str] = []

    def planted(request: object, *args: object, **kwargs: object) -> None:
        seen.append(request.instruction)  # type: ignore[attr-defined]
        raise RuntimeError("planted bug")

    monkeypatch.setattr(planner, "make_plan", planted)
    result = route("explain", "--", "--debug")
    assert result.returncode == EXIT_BUG and seen == ["--debug"]
