"""Running a map-reduce plan: chunk summaries in parallel (bounded), then the combining calls.

Each chunk call goes through the ordinary Executor, so a 429 on one chunk is retried (or falls back) on
its own while the others carry on, and every attempt reaches the ledger with its stage ("map 3/12").
The last combining call streams to stdout like any other reply.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any

from routecli.errors import ProviderFailure
from routecli.routing.caps import CapReached
from routecli.routing.mapreduce import MapReducePlan, map_prompt, reduce_prompt
from routecli.routing.plan import Plan
from routecli.run.attempts import Attempt, CallSettings, Outcome, Output
from routecli.run.executor import Executor


class _Quiet:
    """Output for the hidden (map and intermediate) calls: no text on stdout. Their notices are shown at the end
    of each stage, each once with a count, so twelve chunks falling back the same way make one line, not twelve."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.counts: dict[str, int] = {}  # in order of first appearance
        self.lock = threading.Lock()

    def emit(self, text: str) -> None:
        return None

    def notice(self, message: str) -> None:
        with self.lock:
            self.counts[message] = self.counts.get(message, 0) + 1

    def flush(self) -> None:
        with self.lock:
            counts, self.counts = self.counts, {}
        for message, count in counts.items():
            self.output.notice(message if count == 1 else f"{message} ({count} times)")


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
    recorded: Callable[[], list[Attempt]],
) -> Outcome:
    """`executor_for(output, stage)` gives an Executor whose attempts the ledger records with that stage;
    `cancel` stops the chunk calls (set here when Ctrl-C, SIGTERM or SIGHUP reaches the main thread);
    `recorded()` is every attempt of the run so far, for what a cap that stops the run says was spent."""
    request = plan.request
    map_options = plan.options.but(max_tokens=mr.settings.partial_tokens)
    total = len(mr.chunks)
    progress = Progress(mr.calls, show_progress)
    hidden = _Quiet(output)  # one for the run: identical notices of many chunks are counted together
    done: list[int] = []  # the calls finished, for the message when the cap stops the run

    def summarize_chunk(index: int) -> str:
        chunk = mr.chunks[index]
        prompt = map_prompt(request, chunk, index + 1, total)
        call = CallSettings(request.system, prompt, False, True, False, prompt_tokens=mr.chunk_tokens(chunk))
        executor = executor_for(hidden, f"map {index + 1}/{total}")
        outcome = executor.run(mr.map_decision, map_options, call)
        done.append(index)
        progress.advance()
        return outcome.text

    try:
        return _stages(plan, mr, executor_for, output, final_call, progress, hidden, summarize_chunk, cancel)
    except CapReached as stop:
        # Say what the run spent (every recorded attempt, in-flight chunks included) and what it left undone.
        spent = sum((a.cost_usd or Decimal(0) for a in recorded()), Decimal(0))
        combining = sum(level.calls for level in mr.levels)
        left = f"{total - len(done)} chunk(s) and {combining} combining call(s)" if len(done) < total else (
            "combining the partial summaries")
        raise stop.but_not_done(f"{len(done)} of {total} chunks done; not done: {left}", spent) from None


def _stages(
    plan: Plan,
    mr: MapReducePlan,
    executor_for: Callable[[Output, str], Executor],
    output: Output,
    final_call: Callable[[str], CallSettings],
    progress: Progress,
    hidden: _Quiet,
    summarize_chunk: Callable[[int], str],
    cancel: threading.Event,
) -> Outcome:
    request = plan.request
    map_options = plan.options.but(max_tokens=mr.settings.partial_tokens)
    total = len(mr.chunks)
    try:
        output.notice(
            f"input too large for one call within the window and the cap: summarizing {total} chunks with "
            f"{mr.map_decision.chosen}, then combining with {mr.reduce_decision.chosen}"
        )
        with ThreadPoolExecutor(max_workers=max(1, mr.settings.concurrency), thread_name_prefix="route-map") as pool:
            try:
                partials = list(pool.map(summarize_chunk, range(total)))  # in order; a failure propagates
            except ProviderFailure as error:
                pool.shutdown(cancel_futures=True)
                raise ProviderFailure(f"a chunk could not be summarized: {error.message}") from None
            except CapReached:
                pool.shutdown(cancel_futures=True)  # the chunks not started stay undone; those in flight finish
                raise
            except BaseException:  # Ctrl-C and the like: the running chunk calls stop and record themselves
                cancel.set()
                pool.shutdown(cancel_futures=True)
                raise
            finally:
                hidden.flush()
        for number, level in enumerate(mr.levels, 1):
            last = number == len(mr.levels)
            if last:
                break
            groups = [partials[i : i + level.group_size] for i in range(0, len(partials), level.group_size)]
            next_partials = []
            for group_index, group in enumerate(groups, 1):
                prompt = reduce_prompt(request, group, final=False)
                tokens = mr.combine_tokens(len(group))
                call = CallSettings(request.system, prompt, False, True, False, prompt_tokens=tokens)
                executor = executor_for(hidden, f"reduce {number}.{group_index}/{len(groups)}")
                next_partials.append(executor.run(mr.map_decision, map_options, call).text)
                progress.advance()
            partials = next_partials
    finally:
        progress.stop()
        hidden.flush()
    executor = executor_for(output, "reduce final")
    call = final_call(reduce_prompt(request, partials, final=True))
    call = replace(call, prompt_tokens=mr.combine_tokens(len(partials)))
    return executor.run(mr.reduce_decision, plan.options, call)
