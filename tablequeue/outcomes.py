"""The vocabulary the service speaks: what it refuses, what it changed (events), and the
read-only view of a ticket. Shared by service, protocol and broadcast; no wire strings."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, NewType, TypeAlias, TypeVar

# How often one ticket may be put back in line (`requeue`) or transferred, in all.
REQUEUE_LIMIT = 3


# A site's primary key (models.Site.id): every service call that reads or changes a site's
# queue takes one, keyword-only, and every event names the site whose screens hear it.
SiteId = NewType("SiteId", int)


@dataclass(frozen=True)
class SiteView:
    """What the rest of the app knows of a site (service.sites builds it)."""

    id: SiteId
    slug: str
    name: str
    tables: int
    timezone: str


class Refusal(enum.Enum):
    TOKEN_INVALID = "token_invalid"
    NO_TABLE = "no_table"
    NO_TICKET = "no_ticket"
    CLAIMED = "claimed"
    FINISHED = "finished"
    BUSY = "busy"
    NOT_OWNER = "not_owner"
    TABLE_UNAVAILABLE = "table_unavailable"
    NO_VISITOR = "no_visitor"
    EMAIL_MISSING = "email_missing"
    EMAIL_INVALID = "email_invalid"
    NAME_MISSING = "name_missing"
    NAME_TOO_LONG = "name_too_long"
    NAME_NOT_PRINTABLE = "name_not_printable"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    AWAY = "away"  # the staff member stepped away from their table
    PUT_BACK_LIMIT = "put_back_limit"  # the ticket was put back as often as allowed
    CLOSED = "closed"  # the line is closed (opening hours or the admin's switch)
    # Follow links (tablequeue.service.follow): an extension, never sent to seed clients.
    LINK_INVALID = "link_invalid"
    NOT_FOLLOWING = "not_following"
    NOT_WAITING = "not_waiting"
    MAIL_OFF = "mail_off"
    NOT_MEMBER = "not_member"  # the staff account does not work at this site
    # Sites (tablequeue.service.sites): for the CLI and /admin, never sent on the wire.
    SITE_TAKEN = "site_taken"  # a site with that slug exists already
    SITE_BUSY = "site_busy"  # someone waits or is being served there
    SITE_DEFAULT = "site_default"  # the default site serves today's URLs: never removed
    # Service lines (docs/lines.md): the staff and kiosk extensions, the CLI and /admin.
    NO_LINE = "no_line"  # not a line of this site (or removed)
    LINE_CLOSED = "line_closed"
    SAME_LINE = "same_line"  # a transfer to the line the ticket is in
    MOVE_LIMIT = "move_limit"  # put back or transferred REQUEUE_LIMIT times in all
    NOTHING_WAITING = "nothing_waiting"  # `next` with nobody in one's lines
    TICKET_NOT_WAITING = "ticket_not_waiting"  # `priority` of a ticket served or finished
    REASON_MISSING = "reason_missing"
    REASON_TOO_LONG = "reason_too_long"
    REASON_NOT_PRINTABLE = "reason_not_printable"
    NO_LINES_CHOSEN = "no_lines_chosen"
    LINE_TAKEN = "line_taken"  # never on the wire: a line of that name exists already
    LINE_BUSY = "line_busy"  # never on the wire: someone waits or is served in it
    LINE_LAST = "line_last"  # never on the wire: a site keeps one line at least


@dataclass(frozen=True)
class TicketView:
    id: int
    email: str
    name: str
    staff: str  # the claiming staff member's username, "" while waiting
    start: datetime
    end: datetime | None
    status: str
    # Service lines (docs/lines.md): only line-aware staff frames carry these, never a
    # seed frame; the priority reason is staff-only.
    line: int = 0
    priority: str | None = None


@dataclass(frozen=True)
class LineView:
    """One service line of a site (service.lines builds it)."""

    id: int
    site: SiteId
    name: str
    position: int
    open: bool


@dataclass(frozen=True)
class PhoneState:
    """What a visitor's phone shows of their own ticket. status: waiting, serving, served,
    no-show, closed (end of day) or left."""

    id: int
    status: str
    ahead: int | None = None  # people ahead, while waiting
    minutes: int | None = None  # estimated wait, while waiting and with history
    table: int | None = None  # where to go, while serving
    line: str | None = None  # its line's name, while the site has two lines or more


# ---- events: what changed, published only after the transaction committed ------------


@dataclass(frozen=True)
class Change:
    """What every event has: the site whose screens hear it, and its number in that site's
    event log (tablequeue.service.eventlog.seal sets it; 0: unnumbered, as FloorChanged is,
    or not sealed yet). The number is no part of what changed: events compare without it."""

    site: SiteId = field(kw_only=True)
    seq: int = field(default=0, kw_only=True, compare=False)


@dataclass(frozen=True)
class TicketCreated(Change):
    ticket: TicketView


@dataclass(frozen=True)
class TicketClaimed(Change):
    ticket: TicketView
    table: int


@dataclass(frozen=True)
class TicketShown(Change):
    """A ticket in service appears at a (new) table: its staff member moved or came back."""

    ticket: TicketView
    table: int


@dataclass(frozen=True)
class TicketEnded(Change):
    ticket: TicketView
    table: int
    completed: bool  # False: cancelled (a no-show)


@dataclass(frozen=True)
class TablePicked(Change):
    table: int


@dataclass(frozen=True)
class TableUnpicked(Change):
    table: int


@dataclass(frozen=True)
class TablesChanged(Change):
    """The whole assignment after a change: who holds a table, and which are taken."""

    holders: frozenset[int]
    taken: tuple[int, ...]


@dataclass(frozen=True)
class SessionsRevoked(Change):
    """Sessions ended (logout, password reset, admin, expiry): connections bound with one
    of them stop receiving visitor data and get `taken` like any unbound console."""

    token_hashes: frozenset[str]
    taken: tuple[int, ...]


@dataclass(frozen=True)
class TicketWithdrawn(Change):
    """A waiting ticket closed without service (the admin's end of day): no table involved."""

    ticket: TicketView


@dataclass(frozen=True)
class TicketRequeued(TicketCreated):
    """A ticket in service went back to waiting (its staff member put it back, or their
    account was removed or deactivated). Staff get `new` again even if their bind replay
    already announced it; with `table`, displays clear it there (`cancel T`)."""

    table: int | None = None


@dataclass(frozen=True)
class TableAway(Change):
    """The staff member at `table` stepped away (`away`) or came back (`back`)."""

    table: int
    away: bool


@dataclass(frozen=True)
class TableCountChanged(Change):
    """The admin changed how many tables the site has."""

    count: int


@dataclass(frozen=True)
class FloorChanged(Change):
    """The announcement, the hours or the line switch changed: every worker reads the
    floor now instead of at its next poll (only a shortcut: the poll alone suffices)."""


@dataclass(frozen=True)
class TicketTransferred(TicketRequeued):
    """The staff member serving it sent it to another line (ticket.line): it waits there
    at its original arrival's place. Handled everywhere as a put-back, and more."""

    from_line: int = 0


@dataclass(frozen=True)
class TicketMarked(Change):
    """A waiting ticket was marked priority (ticket.priority): line-aware staff only."""

    ticket: TicketView


@dataclass(frozen=True)
class LinesChanged(Change):
    """A site's lines were added, renamed, opened, closed, removed or reordered."""


@dataclass(frozen=True)
class ServeChanged(Change):
    """The lines a staff member serves at the site (empty: every line)."""

    staff_id: int
    lines: tuple[int, ...]


Event: TypeAlias = (
    TicketCreated | TicketClaimed | TicketShown | TicketEnded | TablePicked | TableUnpicked
    | TablesChanged | SessionsRevoked | TicketWithdrawn | TableCountChanged | TicketRequeued
    | TableAway | FloorChanged | TicketTransferred | TicketMarked | LinesChanged | ServeChanged
)


T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """The result of one command: a refusal or a value of type T, and the events to publish.
    Check `refusal` first: a refused outcome carries no value."""

    value: T
    events: list[Event] = field(default_factory=list)
    refusal: Refusal | None = None

    @property
    def ok(self) -> bool:
        """Yes or no (tests, logs). Code that goes on to read `refusal` tests it directly,
        `outcome.refusal is not None`: the checker narrows that, not a property."""
        return self.refusal is None


def refused(refusal: Refusal) -> Outcome[Any]:
    """A refusal fits any Outcome[T]: callers read `refusal` and never its value."""
    return Outcome(value=None, refusal=refusal)
