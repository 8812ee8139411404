"""Server frames: replies (`success ...`, `error <command> <reason>`), broadcasts, the
ticket JSON, and the opt-in extensions' messages (docs/protocol.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from tablequeue.outcomes import REQUEUE_LIMIT, PhoneState, Refusal, TicketView

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---- replies -------------------------------------------------------------------------

_REASONS: dict[tuple[str, Refusal], str] = {
    ("accept", Refusal.TOKEN_INVALID): "your session token was found to be invalid. please relogin",
    ("accept", Refusal.NO_TABLE): "you do not have a table chosen",
    ("cancel", Refusal.NO_TABLE): "you are not assigned to any table",
    ("complete", Refusal.NO_TABLE): "you are not assigned to any table",
    ("unpick", Refusal.NO_TABLE): "you do not have a table assigned",
    ("pick", Refusal.TOKEN_INVALID): "the provided token does not belong to any staff member",
    ("away", Refusal.NO_TABLE): "you do not have a table assigned",
    ("back", Refusal.NO_TABLE): "you do not have a table assigned",
    ("next", Refusal.NO_TABLE): "you do not have a table chosen",
}
_DEFAULT_REASONS: dict[Refusal, str] = {
    Refusal.TOKEN_INVALID: "your session token was found to be invalid. please relogin",
    Refusal.NO_TABLE: "you are not assigned to any table",
    Refusal.NO_TICKET: "ticket id does not exist",
    Refusal.CLAIMED: "this ticket is now claimed",
    Refusal.FINISHED: "the ticket has already been completed or cancelled",
    Refusal.BUSY: "you are already serving a ticket",
    Refusal.NOT_OWNER: "you do not own this ticket",
    Refusal.TABLE_UNAVAILABLE: "the chosen table is not available",
    Refusal.NO_VISITOR: "visitor email does not exist",
    Refusal.EMAIL_MISSING: "email is missing",
    Refusal.EMAIL_INVALID: "email is not a valid address",
    Refusal.NAME_MISSING: "name is missing",
    Refusal.NAME_TOO_LONG: "name is longer than 100 characters",
    Refusal.NAME_NOT_PRINTABLE: "name contains characters that cannot be printed",
    Refusal.RATE_LIMITED: "too many requests, wait a moment and try again",
    Refusal.UNAVAILABLE: "the queue is temporarily unavailable, try again",
    Refusal.INTERNAL: "internal error",
    Refusal.AWAY: "you are away from your table",
    Refusal.PUT_BACK_LIMIT: f"the ticket has already been put back {REQUEUE_LIMIT} times",
    Refusal.CLOSED: "the queue is closed",
    Refusal.LINK_INVALID: "this link is no longer valid",
    Refusal.NOT_FOLLOWING: "send follow CODE first",
    Refusal.NOT_WAITING: "you are no longer waiting in line",
    Refusal.MAIL_OFF: "email is not configured here",
    Refusal.NOT_MEMBER: "not a member of this site",
    # Never on the wire (service.sites: the CLI and /admin), but every refusal has words.
    Refusal.SITE_TAKEN: "a site with this slug exists already",
    Refusal.SITE_BUSY: "someone is waiting or being served at this site",
    Refusal.SITE_DEFAULT: "the default site cannot be removed",
    # Service lines (docs/lines.md)
    Refusal.NO_LINE: "line does not exist",
    Refusal.LINE_CLOSED: "this line is closed",
    Refusal.SAME_LINE: "the ticket is already in this line",
    Refusal.MOVE_LIMIT:
        f"the ticket has already been put back or transferred {REQUEUE_LIMIT} times",
    Refusal.NOTHING_WAITING: "nobody is waiting in your lines",
    Refusal.TICKET_NOT_WAITING: "the ticket is not waiting",
    Refusal.REASON_MISSING: "reason is missing",
    Refusal.REASON_TOO_LONG: "reason is longer than 60 characters",
    Refusal.REASON_NOT_PRINTABLE: "reason contains characters that cannot be printed",
    Refusal.NO_LINES_CHOSEN: "choose at least one line",
    Refusal.LINE_TAKEN: "a line with this name exists already",
    Refusal.LINE_BUSY: "someone is waiting or being served in this line",
    Refusal.LINE_LAST: "a site keeps at least one line",
}


def error(word: str, refusal: Refusal) -> str:
    """`error <command> <reason>`; an empty or unknown word gets the unknown-command form."""
    reason = _REASONS.get((word, refusal)) or _DEFAULT_REASONS[refusal]
    return f"error {word} {reason}"


def succeeded(reply: str) -> bool:
    """Whether a reply is a `success ...` one (metrics count commands by outcome)."""
    return reply.startswith("success ")


def unknown(word: str) -> str:
    return f"error {word} unknown command" if word else "error unknown command"


BINARY_FRAME = "error binary frames are not part of the protocol, send text"
# The close reason (1008) for a client that did not answer a ping: simple-websocket's words.
PING_TIMEOUT = "Ping/Pong timeout"
# The close reason (1008) for a client over WS_MESSAGE_RATE: no screen sends that many.
TOO_MANY_MESSAGES = "too many messages"
# Close codes and reasons for a connection the server cannot serve (see docs/protocol.md,
# "Closing"): 1013 "try again later" when its greeting, or the bind replay after `pick`,
# could not be read; 1001 "going away" when the server is stopping.
TRY_AGAIN_LATER = 1013
COME_BACK = "the queue is temporarily unavailable, reconnect"
INTERNAL_ERROR = 1011
SERVER_ERROR = "internal error, reconnect"
GOING_AWAY = 1001
SHUTTING_DOWN = "server is shutting down"


def success_pick(table: int) -> str:
    return f"success pick {table}"


SUCCESS_UNPICK = "success unpick"


def success_claimed(ticket_id: int) -> str:
    return f"success claimed {ticket_id}"


def success_cancel(ticket_id: int) -> str:
    return f"success cancel {ticket_id}"


def success_complete(ticket_id: int) -> str:
    return f"success complete {ticket_id}"


def success_new(ticket: TicketView) -> str:
    return f"success new {ticket_json(ticket)}"


def success_query(name: str) -> str:
    return f"success query {name}"


# ---- broadcasts ----------------------------------------------------------------------


def _time(moment: datetime | None) -> str:
    return (moment or EPOCH).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ticket_json(ticket: TicketView, *, redact_email: bool = False) -> str:
    """The six keys, in order, compact; raw UTF-8 so names round-trip byte for byte."""
    return json.dumps(
        {
            "id": ticket.id,
            "email": "" if redact_email else ticket.email,
            "name": ticket.name,
            "staff": ticket.staff,
            "start": _time(ticket.start),
            "end": _time(ticket.end),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def staff_new(ticket: TicketView) -> str:
    return f"new {ticket_json(ticket)}"


def staff_claimed(ticket: TicketView) -> str:
    return f"claimed {ticket_json(ticket)}"


def staff_taken(tables: Iterable[int]) -> str:
    return " ".join(["taken", *map(str, sorted(tables))])


def display_pick(table: int) -> str:
    return f"pick {table}"


def display_unpick(table: int) -> str:
    return f"unpick {table}"


def display_claimed(ticket: TicketView, table: int, *, redact_email: bool) -> str:
    return f"claimed {ticket.staff} {table} {ticket_json(ticket, redact_email=redact_email)}"


def display_cancel(table: int) -> str:
    return f"cancel {table}"


def display_complete(table: int) -> str:
    return f"complete {table}"


# ---- extensions (opt-in; see docs/protocol.md, "Extensions") ---------------------------

SUCCESS_WATCH = "success watch"


def display_waiting(count: int) -> str:
    return f"waiting {count}"


def display_tables(count: int) -> str:
    return f"tables {count}"


def staff_withdrawn(ticket: TicketView) -> str:
    """A waiting ticket closed at day's end: `claimed` tells seed clients it needs no one."""
    return staff_claimed(ticket)


def success_requeue(ticket_id: int) -> str:
    return f"success requeue {ticket_id}"


SUCCESS_AWAY = "success away"
SUCCESS_BACK = "success back"


def table_away(table: int) -> str:
    """To watchers: the staff member at `table` stepped away (the display shows "Back soon")."""
    return f"away {table}"


def table_back(table: int) -> str:
    return f"back {table}"


def announce(text: str) -> str:
    """To watchers: show this announcement (replacing any other) until `unannounce`."""
    return f"announce {text}"


UNANNOUNCE = "unannounce"


def line_closed(opens_at: datetime | None) -> str:
    """To watchers: the line is closed; it opens at that UTC time (bare: not scheduled)."""
    return f"closed {_time(opens_at)}" if opens_at else "closed"


LINE_OPEN = "open"


# ---- follow links (kiosk extension and /ws/visitor) -------------------------------------

SUCCESS_FOLLOW = "success follow"
SUCCESS_REFRESH = "success refresh"
SUCCESS_LEAVE = "success leave"


def success_link(ticket_id: int, url: str) -> str:
    return f"success link {ticket_id} {url}"


def success_notices(wanted: bool) -> str:
    return f"success notices {'on' if wanted else 'off'}"


def visitor_state(state: PhoneState) -> str:
    """`state {json}`: one ticket's number, status, people ahead, minutes and table, and
    its line's name where the site has several; never a name, an email or a priority
    reason (the phone page is reachable by anyone holding the link)."""
    fields: dict[str, object] = {"id": state.id, "status": state.status, "ahead": state.ahead,
                                 "minutes": state.minutes, "table": state.table}
    if state.line is not None:
        fields["line"] = state.line
    return "state " + json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def visitor_waiting(ticket_id: int, ahead: int, minutes: int | None,
                    line: str | None = None) -> str:
    """visitor_state of a waiting ticket, the same bytes without json.dumps for the numbers:
    a flush makes one per followed ticket, thousands a second."""
    wait = "null" if minutes is None else int(minutes)
    named = "" if line is None else ',"line":' + json.dumps(line, ensure_ascii=False)
    return (f'state {{"id":{int(ticket_id)},"status":"waiting","ahead":{int(ahead)},'
            f'"minutes":{wait},"table":null{named}}}')
