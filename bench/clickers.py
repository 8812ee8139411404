"""The staff clients (`Handler`s of bench/load.py): each answers frames with at most one
command, and times every command to its own reply.

Replies to one connection come in the order of its commands (docs/protocol.md), so each
client keeps the commands it asked, oldest first, and pairs each `success `/`error ` frame
with the oldest; whatever is left at the end is unanswered.

- `kind`: only the staff member a ticket names (round robin) accepts it, one at a time.
- `person` (`--race`): every staff member clicks as a person does: one `accept` in flight,
  the oldest ticket shown and not yet seen claimed, skipping tickets shown taken; a win
  is completed at once.
- `storm` (`--race storm`): every staff connection accepts every ticket the moment it is
  shown; the winner completes at once, and retries the oldest unclaimed one afterwards."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable

from bench.load_share import Records
from tablequeue.protocol import Refusal, error

now = time.monotonic
Handler = Callable[[bytes, float], str | None]
# A refused `accept` that a race is expected to produce: someone else was first, or the
# winner has finished already, or this staff member is still serving (storm only).
LOSSES = frozenset(error("accept", r) for r in (Refusal.CLAIMED, Refusal.FINISHED, Refusal.BUSY))


def ticket_id(payload: bytes) -> int:
    """The id of the ticket JSON in a `claimed …` frame."""
    start = payload.index(b'{"id":') + 6
    return int(payload[start: payload.index(b",", start)])


class Staff:
    """What every staff client shares: the frames it records and the replies it pairs."""

    races = True  # a refused `accept` (LOSSES) is a lost race, not an error

    def __init__(self, table: int, tag: str, rec: Records) -> None:
        self.table, self.tag, self.rec = table, tag, rec
        self.asked: deque[tuple[str, int, float]] = deque()
        self.serving: int | None = None

    def ask(self, word: str, ticket: int) -> str:
        sent = now()
        self.asked.append((word, ticket, sent))
        if word == "accept":
            self.rec.accepts += 1
        else:
            self.rec.completed_sent[ticket] = sent
        return f"{word} {ticket}"

    def __call__(self, payload: bytes, t: float) -> str | None:
        rec = self.rec
        rec.last_frame = t
        if payload.startswith(b"new "):
            ticket = json.loads(payload[4:])
            rec.staff_new.append((self.table, ticket["name"], t))
            rec.count("staff new", t)
            if ticket["name"].startswith(self.tag):
                return self.on_new(ticket["id"], ticket["name"])
            return None
        if payload.startswith(b"claimed "):
            taken = ticket_id(payload)
            rec.staff_claimed.append((self.table, taken, t))
            rec.count("staff claimed", t)
            return self.on_taken(taken)
        if payload.startswith((b"success ", b"error ")):
            return self.answer(payload.decode(), t)
        rec.count("staff " + payload.split(b" ", 1)[0].decode(), t)
        return None

    def answer(self, text: str, t: float) -> str | None:
        rec = self.rec
        if not self.asked:
            rec.errors.append(f"a reply nobody asked for: {text}")
            return None
        word, ticket, sent = self.asked.popleft()
        if word == "accept" and text == f"success claimed {ticket}":
            rec.reply("accept→reply win", sent, t)
            rec.won_sent[ticket] = sent
            rec.claimed_at[ticket] = t
            self.serving = ticket
            self.on_taken(ticket)
            return self.ask("complete", ticket)
        if word == "accept" and self.races and text in LOSSES:
            rec.reply("accept→reply lose", sent, t)
            rec.lost_races += 1
            return self.on_lost(ticket)
        if word == "complete" and text == f"success complete {ticket}":
            rec.reply("complete→reply", sent, t)
            self.serving = None
            return self.next()
        rec.errors.append(f"{word} {ticket}: {text}")
        if word == "complete":
            self.serving = None
        return self.next()

    def idle(self) -> bool:
        return not self.asked and self.serving is None

    # What each client does differently.
    def on_new(self, ticket: int, name: str) -> str | None:
        raise NotImplementedError

    def on_taken(self, ticket: int) -> str | None:
        return None

    def on_lost(self, ticket: int) -> str | None:
        return self.next()

    def next(self) -> str | None:
        return None


class Kind(Staff):
    """Only the named staff member accepts, one ticket at a time: every refusal errs."""

    races = False

    def __init__(self, table: int, tag: str, rec: Records) -> None:
        super().__init__(table, tag, rec)
        self.mine: deque[int] = deque()
        self.suffix = f" s{table}"

    def on_new(self, ticket: int, name: str) -> str | None:
        if name.endswith(self.suffix):
            self.mine.append(ticket)
            return self.next()
        return None

    def next(self) -> str | None:
        if self.idle() and self.mine:
            return self.ask("accept", self.mine.popleft())
        return None


class Person(Staff):
    """One `accept` in flight: the oldest ticket shown and not yet seen taken."""

    def __init__(self, table: int, tag: str, rec: Records) -> None:
        super().__init__(table, tag, rec)
        self.shown: dict[int, None] = {}  # this run's tickets not yet seen claimed, oldest first

    def on_new(self, ticket: int, name: str) -> str | None:
        self.shown[ticket] = None
        return self.next()

    def on_taken(self, ticket: int) -> str | None:
        self.shown.pop(ticket, None)
        return None

    def on_lost(self, ticket: int) -> str | None:
        self.shown.pop(ticket, None)
        return self.next()

    def next(self) -> str | None:
        if self.idle() and self.shown:
            return self.ask("accept", next(iter(self.shown)))
        return None


class Storm(Staff):
    """Every ticket accepted the moment it is shown; the oldest unclaimed one retried after
    completing, so no ticket is stranded by a staff member who was busy."""

    def __init__(self, table: int, tag: str, rec: Records) -> None:
        super().__init__(table, tag, rec)
        self.pending: dict[int, None] = {}

    def on_new(self, ticket: int, name: str) -> str | None:
        self.pending[ticket] = None
        return self.ask("accept", ticket)

    def on_taken(self, ticket: int) -> str | None:
        self.pending.pop(ticket, None)
        return None

    def on_lost(self, ticket: int) -> str | None:
        return None

    def next(self) -> str | None:
        return self.ask("accept", next(iter(self.pending))) if self.pending else None


CLICKERS: dict[str, type[Staff]] = {"kind": Kind, "person": Person, "storm": Storm}


def finish(handlers: list[Handler], rec: Records) -> None:
    """Count the commands still waiting for a reply when the run ends."""
    rec.unanswered += sum(len(h.asked) for h in handlers if isinstance(h, Staff))
