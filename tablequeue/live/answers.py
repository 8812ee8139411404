"""What a websocket command handler returns and how a route dispatches: shared by every
route's handlers (live/handlers.py, live/line_handlers.py, live/follow/handlers.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import current_app

from tablequeue import protocol
from tablequeue.live.connection import Connection
from tablequeue.live.registry import Registry, registry_of
from tablequeue.outcomes import Event, Outcome


@dataclass
class Answer:
    """The reply to send, then what to do for this connection, then the events to publish."""

    reply: str
    then: Callable[[], None] | None = None
    events: list[Event] = field(default_factory=list)


Handler = Callable[[Connection, Any], Answer]
T = TypeVar("T")


def registry() -> Registry:
    return registry_of(current_app)


def answer_to(word: str, outcome: Outcome[T], success: Callable[[T], str]) -> Answer:
    """The refusal as `error WORD reason`, or the success line with the outcome's events."""
    if outcome.refusal is not None:
        return Answer(protocol.error(word, outcome.refusal))
    return Answer(success(outcome.value), events=outcome.events)


def dispatch(handlers: dict[type[Any], Handler]) -> Handler:
    """One table from command type to handler: adding a command is one line here plus its
    rule in `service`; a type the route does not list is an unknown command."""

    def handle(conn: Connection, command: protocol.Command) -> Answer:
        handler = handlers.get(type(command))
        if handler is None:
            return Answer(protocol.unknown(protocol.command_word(command)))
        return handler(conn, command)

    return handle
