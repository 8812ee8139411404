"""Server frames of the service-lines extensions (docs/lines.md): only for a console or a
kiosk that sent `lines`, or a kiosk's `join`. The ticket JSON here is the seed's six keys
and then the extension's; a seed frame never carries them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from tablequeue.outcomes import LineView, TicketView
from tablequeue.protocol.messages import ticket_json

SUCCESS_LINES = "success lines"


def lines_list(lines: Iterable[LineView]) -> str:
    """`lines [{"id":1,"name":"General","open":true},…]`: the site's lines in their order."""
    shown = [{"id": line.id, "name": line.name, "open": line.open} for line in lines]
    return "lines " + json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


def _extended(ticket: TicketView, extra: dict[str, object]) -> str:
    """The seed's six keys, then `extra`'s, in one compact object."""
    more = json.dumps(extra, separators=(",", ":"), ensure_ascii=False)
    return ticket_json(ticket)[:-1] + "," + more[1:]


def lined_json(ticket: TicketView) -> str:
    """A line-aware console's ticket: its line and its priority reason (null: normal)."""
    return _extended(ticket, {"line": ticket.line, "priority": ticket.priority})


def lined_new(ticket: TicketView) -> str:
    return f"new {lined_json(ticket)}"


def lined_claimed(ticket: TicketView) -> str:
    return f"claimed {lined_json(ticket)}"


def serving_lines(line_ids: Sequence[int]) -> str:
    """`serve ID …`: the lines this console's staff member serves; the `new`s that follow
    are its whole waiting list."""
    return " ".join(["serve", *map(str, line_ids)])


def success_serve(line_ids: Sequence[int]) -> str:
    return " ".join(["success serve", *map(str, line_ids)])


def line_order(line: int, ticket_ids: Sequence[int]) -> str:
    """`order LINE ID …`: the line's waiting tickets in the order `next` takes them."""
    return " ".join(["order", str(line), *map(str, ticket_ids)])


def success_next(ticket_id: int) -> str:
    return f"success next {ticket_id}"


def success_priority(ticket_id: int) -> str:
    return f"success priority {ticket_id}"


def success_transfer(ticket_id: int, line: int) -> str:
    return f"success transfer {ticket_id} {line}"


def success_join(ticket: TicketView) -> str:
    """A kiosk's ticket in its chosen line: the six keys and `line` (never a priority)."""
    return f"success join {_extended(ticket, {'line': ticket.line})}"
