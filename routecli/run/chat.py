"""`route chat`: a conversation in the terminal, one routed and streamed turn at a time.

Each turn is planned again on the whole conversation (it stays on the previous turn's model while that model
is eligible), streamed to stdout, recorded in the ledger and kept in the history, then summed up in one status
line on stderr. `!model ALIAS` pins, `!auto` routes again, `!cost`, `!exit` (or EOF). Ctrl-C during a reply
stops that reply (the partial text is kept); at the prompt, a second Ctrl-C in a row ends the session.
With stdin not a terminal, each line is one turn, nothing but replies goes to stdout, and the session exits
with the code of the first turn that failed (0 when none did).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal

from routecli.errors import EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_TERMINATED, RouteError, Stopped
from routecli.paths import Paths
from routecli.policy.types import Policy
from routecli.routing.inputs import gather
from routecli.routing.options import RequestOptions
from routecli.routing.plan import Plan, make_plan
from routecli.run.attempts import Outcome
from routecli.run.conversation import Conversation, Keeper
from routecli.run.piped import piped_lines
from routecli.run.request import run_request
from routecli.run.state import read_world
from routecli.ui.chat_view import chat_banner, chat_cost, chat_status
from routecli.ui.display import Display
from routecli.ui.render import error_line, notice

PROMPT = "› "


@dataclass
class Session:
    policy: Policy
    paths: Paths
    options: RequestOptions
    display: Display
    system: str | None
    keeper: Keeper
    pinned: str | None = None
    cost: Decimal = Decimal(0)
    unpriced: int = 0  # turns with a model route has no price for: the total says so
    turns: int = 0
    failed: int = 0  # the exit code of the first turn that failed: a piped session ends with it
    last: Outcome | None = field(default=None, repr=False)

    @property
    def conversation(self) -> Conversation:
        return self.keeper.conversation

    def _keep(self, plan: Plan, outcome: Outcome, interrupted: bool) -> str | None:
        self.last = outcome
        if outcome.cost_usd is None:
            self.unpriced += 1
        else:
            self.cost += outcome.cost_usd
        return self.keeper(plan, outcome, interrupted)

    def turn(self, text: str) -> int:
        """One prompt, routed, streamed and kept; the exit code run_request gives (130: interrupted)."""
        request = gather(text, [], self.system or self.conversation.system, stdin_data=b"")
        request = replace(request, history=self.conversation.turns)
        world = read_world(self.policy, self.paths, repair=True)
        options = self.options.but(pinned=self.pinned)
        plan = make_plan(request, self.policy, world.prices, world.state, options, allow_map_reduce=False,
                         follow=self.conversation.follow_up,
                         known_keys=world.environment.held_keys(self.policy))
        notices = world.notices
        if plan.continuity is not None and not plan.continuity.stays and self.pinned is None:
            notices = (*notices, plan.continuity.text)
        self.last = None
        code = run_request(plan, self.policy, self.paths, world.environment, self.display, "chat", notices,
                           keep=self._keep)
        self.turns += 1
        return code


def read_turns(interactive: bool, tell: Callable[[str], None] = notice) -> Iterator[str]:
    """Lines typed at the prompt (with readline's editing when it is there), or read from a pipe (what the
    input was read as is told, once, through `tell`)."""
    if not interactive:  # a pipe or a file: ask's input rules, one line a turn
        stream = getattr(sys.stdin, "buffer", None)
        yield from piped_lines(stream, tell) if stream is not None else (line.rstrip("\n") for line in sys.stdin)
        return
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - importing it gives input() line editing and history
    while True:
        sys.stderr.write(PROMPT)  # on stderr: stdout carries only replies
        sys.stderr.flush()
        yield input()


def run_chat(session: Session, interactive: bool) -> int:
    if interactive:
        chat_banner(session.conversation.cid, session.conversation.exchanges, session.display.no_color)
    lines = read_turns(interactive, lambda text: None if session.display.quiet else notice(text))
    interrupted_at_prompt = False
    while True:
        try:
            text = next(lines).strip()
        except (StopIteration, EOFError):
            if interactive:
                sys.stderr.write("\n")
                return 0
            return session.failed  # `... | route chat` in a script: a failed turn fails the run
        except Stopped as stop:  # SIGTERM / SIGHUP: the session ends (143 / 129), Ctrl-C only stops a reply
            sys.stderr.write("\n")
            return stop.exit_code
        except KeyboardInterrupt:
            if interrupted_at_prompt or not interactive:
                sys.stderr.write("\n")
                return EXIT_INTERRUPTED
            interrupted_at_prompt = True
            sys.stderr.write("\n")
            notice("Ctrl-C again (or !exit) to leave")
            lines = read_turns(interactive)
            continue
        interrupted_at_prompt = False
        if not text:
            continue
        if text.startswith("!"):
            if _command(session, text):
                return 0
            continue
        try:
            code = session.turn(text)
        except RouteError as error:  # a failed turn is one line; the session goes on
            error_line(error.message)
            session.failed = session.failed or error.exit_code
            continue
        except Stopped as stop:
            sys.stderr.write("\n")
            return stop.exit_code
        except KeyboardInterrupt:  # Ctrl-C outside the stream (planning, recording): the session goes on
            sys.stderr.write("\n")
            notice("interrupted")
            continue
        if code in (EXIT_TERMINATED, EXIT_HANGUP):  # the reply was stopped by SIGTERM / SIGHUP: so is the session
            return code
        if session.last is not None and not session.display.quiet:
            chat_status(session.last, session.cost, session.unpriced, session.display.no_color)


def _command(session: Session, text: str) -> bool:
    """A `!` command; True to end the session."""
    word, _, rest = text[1:].strip().partition(" ")
    if word in ("exit", "quit", "q"):
        return True
    if word == "model":
        alias = rest.strip()
        if not alias:
            error_line("!model needs a model alias (see `route models`)")
            return False
        try:
            session.policy.model(alias)  # raises UsageError for an unknown alias
        except RouteError as error:
            error_line(error.message)
            return False
        session.pinned = alias
        notice(f"pinned to {alias} (!auto to route again)")
    elif word == "auto":
        session.pinned = None
        notice("routing each turn again")
    elif word == "cost":
        chat_cost(session.turns, session.cost, session.unpriced)
    else:
        error_line(f"unknown command {text!r}: !model ALIAS, !auto, !cost, !exit")
    return False
