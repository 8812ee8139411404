"""The order rule of one line (docs/lines.md), as pure functions: what `next` takes, what
taking a ticket does to the others, and the order that positions and estimates follow.
The SQL of service/taking.py computes `head_of`'s three inputs with one aggregate per line
and runs `take` as one UPDATE, so the database and these functions agree by construction;
tests/service/test_order.py drives them with hypothesis.

Arrival is the ticket id: ids follow original arrival, and a put-back or a transfer keeps
its id. Priority tickets go first, each group by arrival, but once a waiting normal ticket
has been passed by `run` priority tickets that arrived after it, the normal tickets go
(earliest first) until none is due."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate


@dataclass(frozen=True)
class Waiting:
    """A waiting ticket of one line, as the rule sees it."""

    id: int
    priority: bool
    passed: int = 0  # later priority tickets taken from the line while it waited (normal)


def head_of(first_normal: int | None, first_priority: int | None, due: bool) -> int | None:
    """The id `next` takes from a line, from its earliest normal ticket, its earliest
    priority ticket and whether some normal ticket has been passed `run` times."""
    if first_priority is None or (due and first_normal is not None):
        return first_normal
    return first_priority


def head(tickets: Iterable[Waiting], run: int) -> int | None:
    """The id `next` takes from a line whose waiting tickets are `tickets`."""
    first_normal = first_priority = None
    due = False
    for ticket in tickets:
        if ticket.priority:
            first_priority = _least(first_priority, ticket.id)
        else:
            first_normal = _least(first_normal, ticket.id)
            due = due or ticket.passed >= run
    return head_of(first_normal, first_priority, due)


def _least(current: int | None, candidate: int) -> int:
    return candidate if current is None or candidate < current else current


def take(tickets: Sequence[Waiting], taken: int) -> list[Waiting]:
    """The line after ticket `taken` left it for service (by `next` or `accept ID`): a
    priority ticket passes every normal ticket that arrived before it."""
    gone = next((t for t in tickets if t.id == taken), None)
    rest = [t for t in tickets if t.id != taken]
    if gone is None or not gone.priority:
        return rest
    return [replace(t, passed=t.passed + 1) if not t.priority and t.id < taken else t
            for t in rest]


def order(tickets: Iterable[Waiting], run: int) -> list[int]:
    """The line's waiting ids in the order `next` would take them if nobody else came:
    `head` then `take`, again and again, computed in O(n log n) (a long line is re-ordered
    on every change). Normal tickets leave earliest first and priority tickets too, so
    after t priority takes a normal ticket m has been passed `passed + max(0, t - below)`
    times, `below` being the priority tickets that arrived before it: it is due from
    t = below + run - passed on, and the line has a due ticket when the least of those
    among the normal tickets still there is at most t."""
    line = sorted(tickets, key=lambda t: t.id)
    normal = [t for t in line if not t.priority]
    priority = [t.id for t in line if t.priority]
    if not priority or not normal:
        return [t.id for t in line]  # one group: arrival order (the usual case)
    due_from = [0 if t.passed >= run else bisect_left(priority, t.id) + run - t.passed
                for t in normal]
    soonest = list(accumulate(reversed(due_from), min))[::-1]  # least of due_from[i:]
    taken: list[int] = []
    i = t = 0
    while i < len(normal) or t < len(priority):
        if t < len(priority) and (i == len(normal) or soonest[i] > t):
            taken.append(priority[t])
            t += 1
        else:
            taken.append(normal[i].id)
            i += 1
    return taken


def positions(tickets: Iterable[Waiting], run: int) -> dict[int, int]:
    """Each waiting id's place in its line: 0 is next."""
    return {ticket_id: place for place, ticket_id in enumerate(order(tickets, run))}


def across(heads: Iterable[int | None]) -> int | None:
    """Of the heads of several lines, the one that arrived first (waited longest)."""
    present = [h for h in heads if h is not None]
    return min(present) if present else None
