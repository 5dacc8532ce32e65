"""The in-process `route` fixture must see what a real `python -m routecli` child sees, and leave nothing behind."""

from __future__ import annotations

import os
import signal
import sys

import pytest

from routecli.routing import plan as planner

# Commands whose whole output is deterministic for a given home: success, user errors, usage errors, stdin.
SAME_OUTPUT = [
    (("explain", "hello there!"), None),
    (("explain", "--json", "summarize this"), "Some text on stdin.\n"),
    (("explain",), "  \n"),  # empty prompt: one line, exit 3
    (("explain", "hi", "--bogus"), None),  # click's usage error names the program
    (("ask", "hi", "--task", "nonsense"), None),
    (("policy", "validate"), None),
]


@pytest.mark.process  # the reference is a real child process
def test_in_process_output_equals_the_child_process(route, route_process):
    for args, stdin in SAME_OUTPUT:
        inside, child = route(*args, input=stdin), route_process(*args, input=stdin)
        assert (inside.returncode, inside.stdout, inside.stderr) == (child.returncode, child.stdout, child.stderr), args


def _plan_that_takes_over_the_process(*args: object, **kwargs: object) -> None:
    """What a command may do to its own process (as `route local serve` does), then a bug."""
    signal.signal(signal.SIGTERM, lambda *_: None)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the runner must close and replace it
    raise RuntimeError("after taking over the process")


def test_a_run_leaves_the_test_process_as_it_was(route, monkeypatch):
    monkeypatch.setenv("ROUTE_OUTSIDE_MARKER", "kept")  # a variable the runner hides from route, then restores
    before = (dict(os.environ), os.getcwd(), list(sys.argv), sys.stdin, sys.stdout, sys.stderr)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    main_module = sys.modules["__main__"]
    route("explain", "hi", "--json", input="attached", env={"ROUTE_POLICY": "/nonexistent.yaml"})
    monkeypatch.setattr(planner, "make_plan", _plan_that_takes_over_the_process)
    assert route("explain", "hi").returncode == 1
    assert (dict(os.environ), os.getcwd(), list(sys.argv), sys.stdin, sys.stdout, sys.stderr) == before
    assert {signum: signal.getsignal(signum) for signum in handlers} == handlers
    assert sys.modules["__main__"] is main_module


def test_route_sees_only_its_environment(route, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-developer-shell-0000")
    data = route("explain", "hello there!", "--json").json()
    anthropic = [c for c in data["candidates"] if c["provider"] == "anthropic"]
    assert anthropic and all(c["why"].startswith("no API key") for c in anthropic), anthropic


def test_each_run_starts_with_empty_routecli_caches(route, monkeypatch):
    import functools

    import routecli

    @functools.cache
    def planted() -> object:  # stands for a cache such as the SSL context, built from the environment once
        return object()

    planted.__module__ = "routecli"
    monkeypatch.setattr(routecli, "planted_cache", planted, raising=False)
    planted()
    route("explain", "hi")
    assert planted.cache_info().currsize == 0
