"""What this worker has seen happen to tickets, used only to choose which database check to
run first, never to answer.

A losing `accept` used to pay a write transaction (on SQLite `BEGIN IMMEDIATE`, the
database-wide write lock), a failed UPDATE and a re-read. When the book says a ticket is
taken (serving or ended), the command first runs one read-only statement (the token's desk
and the ticket's state, `service/known.py`) and answers a refusal from that read, in the
protocol's order of checks; only a ticket the read finds waiting (or owned by the caller)
goes on to the write. So a stale entry costs one extra read and can never change an answer:
every reply is still what the database says at that moment.

Accepts of one ticket arriving together on this worker queue behind the claim in flight
(`landing`): when it lands the ticket is marked taken and they take the read path."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from tablequeue.outcomes import (
    Event,
    Refusal,
    TicketClaimed,
    TicketEnded,
    TicketRequeued,
    TicketWithdrawn,
)

SERVING, ENDED = "serving", "ended"
_SHOWN = {Refusal.CLAIMED: SERVING, Refusal.FINISHED: ENDED}
# A claim in flight holds the write lock for a few ms; a waiter never waits much longer
# than that, and on timeout simply takes the write path itself.
LANDING_WAIT = 2.0


class ClaimBook:
    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._state: OrderedDict[int, str] = OrderedDict()
        self._flights: dict[int, threading.Event] = {}
        # Token hashes that won a claim here and have not ended or put it back here: their
        # next accept (the storm's winner, still serving) is likely `busy`.
        self._busy: OrderedDict[str, None] = OrderedDict()

    def taken(self, ticket_id: int) -> bool:
        return ticket_id in self._state

    def busy(self, token_hash: str | None) -> bool:
        return token_hash in self._busy

    def serving(self, token_hash: str | None, now: bool) -> None:
        """This token's staff member started (a win, a `busy` refusal) or stopped serving."""
        if token_hash is None:
            return
        if now:
            self._busy[token_hash] = None
            while len(self._busy) > self._size:
                self._busy.popitem(last=False)
        else:
            self._busy.pop(token_hash, None)

    def ended(self, ticket_id: int) -> bool:
        return self._state.get(ticket_id) == ENDED

    def mark(self, ticket_id: int, state: str) -> None:
        self._state.pop(ticket_id, None)  # re-inserted last: the newest survive the bound
        self._state[ticket_id] = state
        while len(self._state) > self._size:
            self._state.popitem(last=False)

    def forget(self, ticket_id: int) -> None:
        self._state.pop(ticket_id, None)

    def learn(self, ticket_id: int, refusal: Refusal | None, success: str | None) -> None:
        """What a command's own outcome showed: its success, or a refusal that names a state."""
        state = success if refusal is None else _SHOWN.get(refusal)
        if state is not None:
            self.mark(ticket_id, state)

    def note(self, events: Iterable[Event]) -> None:
        """Events delivered in this worker (its own and, through the relay, the others')."""
        for event in events:
            if isinstance(event, TicketRequeued):  # before TicketCreated: it is one
                self.forget(event.ticket.id)
            elif isinstance(event, TicketClaimed):
                self.mark(event.ticket.id, SERVING)
            elif isinstance(event, (TicketEnded, TicketWithdrawn)):
                self.mark(event.ticket.id, ENDED)

    def landing(self, ticket_id: int) -> None:
        """Wait for the claim of this ticket in flight on this worker, if any."""
        flight = self._flights.get(ticket_id)
        if flight is not None:
            flight.wait(LANDING_WAIT)

    @contextmanager
    def flying(self, ticket_id: int) -> Iterator[None]:
        """This claim is in flight: later accepts of the ticket wait for it to land."""
        if ticket_id in self._flights:  # another is flying: both write, the UPDATE decides
            yield
            return
        flight = self._flights[ticket_id] = threading.Event()
        try:
            yield
        finally:
            del self._flights[ticket_id]
            flight.set()


_BOOK = ClaimBook()


def book() -> ClaimBook:
    """The worker's book (one per process: a hint, so sharing it between apps in one test
    process can cost a read, never an answer)."""
    return _BOOK
