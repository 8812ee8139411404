"""What a line-aware console or kiosk is told (docs/lines.md): the site's lines, and a
console's lines with their waiting tickets, its own ticket in service and each line's
order. Read in one short transaction; `LineReader` binds these to an app for broadcasts
that run outside a request (the relay's listener)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection

from tablequeue.db import unit_of_work
from tablequeue.models import Staff, Ticket, TicketStatus
from tablequeue.outcomes import LineView, SiteId, TicketView
from tablequeue.service import line_sql, lines, order
from tablequeue.service.views import ticket_view


@dataclass(frozen=True)
class ConsoleLines:
    """A console's greeting: its staff member's name and lines, those lines' waiting
    tickets (oldest first), the ticket they serve here, and each line's order."""

    username: str
    served: tuple[int, ...]
    waiting: list[TicketView] = field(default_factory=list)
    serving: TicketView | None = None
    orders: dict[int, list[int]] = field(default_factory=dict)


def site_lines(site: SiteId) -> list[LineView]:
    with unit_of_work() as session:
        return lines.all_lines(session, site)


def console(staff_id: int, site: SiteId) -> ConsoleLines:
    with unit_of_work() as session:
        username = session.scalar(select(Staff.username).where(Staff.id == staff_id)) or ""
        served = lines.served(session, staff_id, site)
        waiting = session.scalars(
            select(Ticket).where(Ticket.site_id == site, Ticket.status == TicketStatus.WAITING,
                                 Ticket.line_id.in_(served)).order_by(Ticket.id))
        serving = session.scalar(select(Ticket).where(
            Ticket.site_id == site, Ticket.staff_id == staff_id,
            Ticket.status == TicketStatus.SERVING))
        return ConsoleLines(
            username, tuple(served), [ticket_view(t, None) for t in waiting],
            ticket_view(serving, username) if serving is not None else None,
            _orders(session.connection(), served))


def orders(line_ids: Iterable[int]) -> dict[int, list[int]]:
    """Each of these lines' waiting ids in the order `next` takes them (empty lines too)."""
    with unit_of_work() as session:
        return _orders(session.connection(), line_ids)


def _orders(connection: Connection, line_ids: Iterable[int]) -> dict[int, list[int]]:
    wanted = list(line_ids)
    rows = line_sql.waiting_rows(connection, lines=wanted) if wanted else {}
    limit = line_sql.run()
    return {line: order.order(rows.get(line, []), limit) for line in wanted}


class LineReader:
    """These reads bound to an app (a broadcast may run outside a request)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def lines(self, site: SiteId) -> list[LineView]:
        with self.app.app_context():
            return site_lines(site)

    def console(self, staff_id: int, site: SiteId) -> ConsoleLines:
        with self.app.app_context():
            return console(staff_id, site)

    def orders(self, line_ids: Iterable[int]) -> dict[int, list[int]]:
        with self.app.app_context():
            return orders(line_ids)
