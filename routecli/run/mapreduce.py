"""Running a map-reduce plan: chunk summaries in parallel (bounded), then the combining calls.

Each chunk call goes through the ordinary Executor, so a 429 on one chunk is retried (or falls back) on
its own while the others carry on, and every attempt reaches the ledger with its stage ("map 3/12").
The last combining call streams to stdout like any other reply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from routecli.errors import ProviderFailure
from routecli.routing.mapreduce import MapReducePlan, map_prompt, reduce_prompt
from routecli.routing.plan import Plan
from routecli.run.attempts import CallSettings, Outcome, Output
from routecli.run.executor import Executor


class _Quiet:
    """Output for the hidden (map and intermediate) calls: no text on stdout; notices still shown."""

    def __init__(self, output: Output) -> None:
        self.output = output

    def emit(self, text: str) -> None:
        return None

    def notice(self, message: str) -> None:
        self.output.notice(message)


class Progress:
    """A Rich progress bar on stderr when it is a terminal; otherwise nothing (notices say enough)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar: Any = None
        self.task: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self.bar = RichProgress(
                "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(stderr=True), transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("summarizing chunks", total=total)
        self.lock = threading.Lock()

    def advance(self, description: str | None = None) -> None:
        if self.bar is not None:
            with self.lock:
                self.bar.update(self.task, advance=1, description=description or "summarizing chunks")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_map_reduce(
    plan: Plan,
    mr: MapReducePlan,
    executor_for: Callable[[Output, str], Executor],
    output: Output,
    final_call: Callable[[str], CallSettings],
    cancel: threading.Event,
    show_progress: bool,
) -> Outcome:
    """`executor_for(output, stage)` gives an Executor whose attempts the ledger records with that stage;
    `cancel` stops the chunk calls (set here when Ctrl-C, SIGTERM or SIGHUP reaches the main thread)."""
    request = plan.request
    map_options = plan.options.but(max_tokens=mr.settings.partial_tokens)
    total = len(mr.chunks)
    progress = Progress(mr.calls, show_progress)
    hidden = _Quiet(output)

    def summarize_chunk(index: int) -> str:
        chunk = mr.chunks[index]
        call = CallSettings(request.system, map_prompt(request, chunk, index + 1, total), False, True, False)
        executor = executor_for(hidden, f"map {index + 1}/{total}")
        outcome = executor.run(mr.map_decision, map_options, call)
        progress.advance()
        return outcome.text

    try:
        output.notice(
            f"input too large for one call: summarizing {total} chunks with {mr.map_decision.chosen}, "
            f"then combining with {mr.reduce_decision.chosen}"
        )
        with ThreadPoolExecutor(max_workers=max(1, mr.settings.concurrency), thread_name_prefix="route-map") as pool:
            try:
                partials = list(pool.map(summarize_chunk, range(total)))  # in order; a failure propagates
            except ProviderFailure as error:
                pool.shutdown(cancel_futures=True)
                raise ProviderFailure(f"a chunk could not be summarized: {error.message}") from None
            except BaseException:  # Ctrl-C and the like: the running chunk calls stop and record themselves
                cancel.set()
                pool.shutdown(cancel_futures=True)
                raise
        for number, level in enumerate(mr.levels, 1):
            last = number == len(mr.levels)
            if last:
                break
            groups = [partials[i : i + level.group_size] for i in range(0, len(partials), level.group_size)]
            next_partials = []
            for group_index, group in enumerate(groups, 1):
                call = CallSettings(request.system, reduce_prompt(request, group, final=False), False, True, False)
                executor = executor_for(hidden, f"reduce {number}.{group_index}/{len(groups)}")
                next_partials.append(executor.run(mr.map_decision, map_options, call).text)
                progress.advance()
            partials = next_partials
    finally:
        progress.stop()
    executor = executor_for(output, "reduce final")
    return executor.run(mr.reduce_decision, plan.options, final_call(reduce_prompt(request, partials, final=True)))

