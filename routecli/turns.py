"""A conversation's earlier turns: the one typed value that routing counts, the providers send and history keeps.

At the bottom of the layers (with errors and paths), because all three of those layers need it and none may
import the others.
"""

from __future__ import annotations

from enum import Enum

from routecli.values import frozen


class Role(str, Enum):  # noqa: UP042 - its value is what the wires send, so str() must stay the plain value
    USER = "user"
    ASSISTANT = "assistant"


@frozen
class Turn:
    role: Role
    text: str


def exchange(prompt: str, reply: str) -> tuple[Turn, Turn]:
    """One earlier exchange as the two turns a provider is sent."""
    return Turn(Role.USER, prompt), Turn(Role.ASSISTANT, reply)
