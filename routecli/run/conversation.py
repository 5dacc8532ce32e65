"""Conversations: the earlier turns a follow-up sends, and the exchange each reply leaves in the history.

History never stops work: a damaged file is set aside (one notice), an unwritable one leaves the exchange pending
(one notice), and the reply has been printed before any of this runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from routecli.errors import UsageError
from routecli.history.ids import new_id
from routecli.paths import Paths
from routecli.routing.continuity import FollowUp
from routecli.turns import Turn
from routecli.values import frozen

if TYPE_CHECKING:  # the history's store is imported when a conversation is read or kept, not by every explain
    from routecli.history.store import Exchange
    from routecli.routing.plan import Plan
    from routecli.run.attempts import Attempt, Outcome


@dataclass
class Conversation:
    """One conversation as it stands: its id, the turns sent before the next prompt, the last turn's model."""

    cid: str
    turns: tuple[Turn, ...] = ()
    previous_model: str | None = None
    previous_task: str | None = None
    system: str | None = None  # a follow-up without -s keeps the conversation's system prompt
    exchanges: int = 0
    notices: tuple[str, ...] = field(default=())

    @property
    def follow_up(self) -> FollowUp | None:
        """What the next turn continues from; None for a new conversation."""
        if not self.exchanges:
            return None
        return FollowUp(self.previous_model, self.previous_task)

    @classmethod
    def new(cls) -> Conversation:
        return cls(new_id())

    def add(self, exchange: Exchange) -> None:
        self.turns = (*self.turns, *exchange.turns())
        self.previous_model = exchange.alias or self.previous_model
        self.previous_task = exchange.task or self.previous_task
        self.system = exchange.system if exchange.system is not None else self.system
        self.exchanges += 1


def load_conversation(paths: Paths, cid: str | None) -> Conversation:
    """The conversation `cid` names (a unique prefix), or the most recent one; UsageError when there is none."""
    from routecli.history.keep import open_to_read

    history, notice = open_to_read(paths.history)
    with history:
        if cid is None:
            last = history.last()
            if last is None:
                raise UsageError("no conversation to continue: the history is empty (see `route log status`)")
            found = last.cid
        else:
            found = history.resolve_cid(cid)
        conversation = Conversation(found, notices=(notice,) if notice else ())
        for exchange in history.conversation(found):
            conversation.add(exchange)
    return conversation


@frozen
class Keeper:
    """Turns a finished (or interrupted) exchange into a history row; `enabled` is False for --no-log or
    `route log off`."""

    paths: Paths
    command: str
    conversation: Conversation
    enabled: bool

    @classmethod
    def for_run(cls, paths: Paths, command: str, conversation: Conversation, no_log: bool) -> Keeper:
        from routecli.history.switch import logging_on

        return cls(paths, command, conversation, not no_log and logging_on(paths.history_switch))

    def __call__(self, plan: Plan, outcome: Outcome, interrupted: bool) -> str | None:
        """Keep the exchange (in the history, and in the conversation for the next turn); a notice or None."""
        exchange = exchange_for(plan, outcome, self.command, self.conversation.cid, interrupted)
        self.conversation.add(exchange)
        if not self.enabled:
            return None
        from routecli.history.keep import keep

        return keep(self.paths.history, exchange)


def exchange_for(plan: Plan, outcome: Outcome, command: str, cid: str, interrupted: bool) -> Exchange:
    from routecli.history.store import Attached, Exchange, Status

    request = plan.request
    answered: Attempt | None = outcome.final or (outcome.attempts[-1] if outcome.attempts else None)
    started = outcome.attempts[0].started_at if outcome.attempts else time.time()
    return Exchange(
        id=new_id(started),
        cid=cid,
        ts=started,
        command=command,
        prompt=plan.at_rest(request.instruction),
        reply=plan.at_rest(outcome.text),  # a model may repeat the key it was sent
        status=Status.INTERRUPTED if interrupted else Status.OK,
        system=None if request.system is None else plan.at_rest(request.system),
        attachments=tuple(Attached(a.name, a.raw_size) for a in request.attachments),
        alias=None if answered is None else answered.alias,
        provider=None if answered is None else answered.provider,
        model_id=None if answered is None else (answered.reported_model_id or answered.model_id),
        input_tokens=None if answered is None else answered.input_tokens,
        output_tokens=None if answered is None else answered.output_tokens,
        cost_usd=outcome.cost_usd,
        task=plan.decision.task,
        reason=plan.decision.reason,
    )
