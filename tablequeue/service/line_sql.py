"""The order rule's SQL (docs/lines.md; the rule itself is service/order.py): which line a
kiosk ticket goes to, the heads `next` chooses from (one aggregate per line, the three
inputs of order.head_of), passing (order.take as one UPDATE), and each waiting ticket's
place in its line for the kiosk, the phones and the emails. Core statements built once,
like ticket_sql."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, bindparam, case, func, insert, select, update
from sqlalchemy.engine import Connection

from tablequeue.models import Line, StaffLine, Ticket, TicketStatus, utcnow
from tablequeue.outcomes import SiteId
from tablequeue.service import order

TICKETS, LINES, CHOICES = Ticket.__table__, Line.__table__, StaffLine.__table__
FIRST_LINE = "General"
_LIVE = (LINES.c.site_id == bindparam("site"), LINES.c.removed_at.is_(None))
_LINES = select(LINES.c.id, LINES.c.name, LINES.c.open).where(*_LIVE).order_by(
    LINES.c.position, LINES.c.id)
_NORMAL = TICKETS.c.priority_reason.is_(None)
_WAITING_IN = (TICKETS.c.status == TicketStatus.WAITING,
               TICKETS.c.line_id.in_(bindparam("lines", expanding=True)))
# One row per line: its earliest normal ticket, its earliest priority ticket, and whether
# a normal ticket is due (passed PRIORITY_RUN times): order.head_of's arguments.
_HEADS = (
    select(TICKETS.c.line_id,
           func.min(case((_NORMAL, TICKETS.c.id))).label("first_normal"),
           func.min(case((~_NORMAL, TICKETS.c.id))).label("first_priority"),
           func.max(case((and_(_NORMAL, TICKETS.c.passed >= bindparam("run")), 1), else_=0))
           .label("due"))
    .where(TICKETS.c.site_id == bindparam("site"), *_WAITING_IN)
    .group_by(TICKETS.c.line_id)
)
# order.take: a priority ticket taken passes the waiting normal tickets before it.
_PASS = (
    update(TICKETS)
    .where(TICKETS.c.line_id == bindparam("line"), TICKETS.c.status == TicketStatus.WAITING,
           _NORMAL, TICKETS.c.id < bindparam("ticket"))
    .values(passed=TICKETS.c.passed + 1)
)
_ORDER_INPUT = select(TICKETS.c.id, TICKETS.c.line_id, TICKETS.c.priority_reason,
                      TICKETS.c.passed)
_LOCK_LINES = (select(LINES.c.id).where(LINES.c.id.in_(bindparam("lines", expanding=True)))
               .order_by(LINES.c.id).with_for_update())


@dataclass(frozen=True)
class LineRow:
    id: int
    name: str
    open: bool


def run() -> int:
    """PRIORITY_RUN: how many later priority tickets may pass a normal ticket."""
    return int(current_app.config.get("PRIORITY_RUN", 3))


def site_lines(connection: Connection, site: SiteId) -> list[LineRow]:
    """The site's lines in their order."""
    return [LineRow(r.id, r.name, r.open) for r in connection.execute(_LINES, {"site": site})]


def ensure_lines(connection: Connection, site: SiteId) -> list[LineRow]:
    """site_lines, one made first if the site has none (a site always has a line)."""
    return site_lines(connection, site) or first_line(connection, site)


def first_line(connection: Connection, site: SiteId) -> list[LineRow]:
    """The line a site without any gets (read as having none, in this transaction)."""
    new_id = connection.execute(insert(LINES).values(
        site_id=site, name=FIRST_LINE, position=0, open=True, created_at=utcnow())
    ).inserted_primary_key
    assert new_id is not None  # an INSERT of one row always has it
    return [LineRow(new_id[0], FIRST_LINE, True)]


def served(connection: Connection, staff_id: int, site: SiteId) -> list[int]:
    """The lines the staff member serves here (service.lines.served, for the ticket path)."""
    every = [line.id for line in site_lines(connection, site)]
    chosen = set(connection.execute(select(CHOICES.c.line_id).where(
        CHOICES.c.staff_id == staff_id, CHOICES.c.site_id == site)).scalars())
    return [line for line in every if line in chosen] or every


def lock(connection: Connection, lines: Sequence[int]) -> None:
    """Take the lines' row locks (PostgreSQL; SQLite's write lock is already the whole
    database), in id order: `next`s of one line decide one after the other, so none takes a
    priority ticket that another's take just made a normal ticket due before."""
    if connection.dialect.name != "sqlite":
        connection.execute(_LOCK_LINES, {"lines": list(lines)}).all()


def head(connection: Connection, site: SiteId, lines: Sequence[int]) -> int | None:
    """The ticket `next` takes from these lines: each line's head (order.head_of), then the
    one that arrived first (order.across)."""
    rows = connection.execute(_HEADS, {"site": site, "lines": list(lines), "run": run()})
    return order.across(order.head_of(r.first_normal, r.first_priority, bool(r.due))
                        for r in rows)


def pass_over(connection: Connection, line: int, ticket_id: int, priority: bool) -> None:
    """A ticket just taken from `line`: if it is a priority ticket, it passed the normal
    tickets that arrived before it (by `next` or by `accept ID` alike)."""
    if priority:
        connection.execute(_PASS, {"line": line, "ticket": ticket_id})


def waiting_rows(connection: Connection, *, site: SiteId | None = None,
                 lines: Iterable[int] | None = None) -> dict[int, list[order.Waiting]]:
    """The waiting tickets of the site (or of these lines), by line, as the rule sees them."""
    query = _ORDER_INPUT.where(TICKETS.c.status == TicketStatus.WAITING)
    if site is not None:
        query = query.where(TICKETS.c.site_id == site)
    if lines is not None:
        query = query.where(TICKETS.c.line_id.in_(list(lines)))
    found: dict[int, list[order.Waiting]] = {}
    for row in connection.execute(query):
        found.setdefault(row.line_id, []).append(
            order.Waiting(row.id, row.priority_reason is not None, row.passed))
    return found


def line_order(connection: Connection, line: int) -> list[int]:
    """One line's waiting ids in the order `next` takes them."""
    return order.order(waiting_rows(connection, lines=[line]).get(line, []), run())


def places(connection: Connection, *, site: SiteId | None = None,
           lines: Iterable[int] | None = None) -> dict[int, int]:
    """Each waiting ticket's place in its own line (0 = next), for the site or these lines."""
    found: dict[int, int] = {}
    limit = run()
    for tickets in waiting_rows(connection, site=site, lines=lines).values():
        found.update(order.positions(tickets, limit))
    return found


def ahead_of(connection: Connection, ticket_id: int, line: int) -> int:
    """How many are before this waiting ticket in its line (0 if it is not waiting)."""
    return places(connection, lines=[line]).get(ticket_id, 0)
