"""Picking and leaving tables: one staff member per table, one table per staff member in
all (a pick at another of their sites moves them there), only at sites they work at."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tablequeue.db import unit_of_work
from tablequeue.models import TableAssignment
from tablequeue.outcomes import (
    Event,
    Outcome,
    Refusal,
    SiteId,
    TablePicked,
    TablesChanged,
    TableUnpicked,
    TicketShown,
    refused,
)
from tablequeue.service.eventlog import seal
from tablequeue.service.identity import staff_for_token
from tablequeue.service.sites import is_member
from tablequeue.service.views import (
    held_table,
    serving_ticket,
    site_tables,
    table_of,
    tables_changed,
    ticket_view,
)


@dataclass(frozen=True)
class Picked:
    table: int
    staff_id: int
    token_hash: str


class _TableLost(Exception):
    """Another transaction took the table between our check and our insert (PostgreSQL)."""


def pick(token_hash: str | None, table: int | None, *, site: SiteId) -> Outcome[Picked]:
    """Bind to the token's staff member and give them `table` of this site (moving them if
    they had one, here or at another of their sites)."""
    try:
        with unit_of_work() as session:
            return _pick(session, token_hash, table, site)
    except _TableLost:
        # Raised inside the transaction, so a move that loses the race keeps the old table.
        return refused(Refusal.TABLE_UNAVAILABLE)


def _pick(session: Session, token_hash: str | None, table: int | None,
          site: SiteId) -> Outcome[Picked]:
    staff = staff_for_token(session, token_hash)
    if staff is None or token_hash is None:
        return refused(Refusal.TOKEN_INVALID)
    if not is_member(session, staff.id, site):
        return refused(Refusal.NOT_MEMBER)
    if table is None or not 0 <= table < site_tables(session, site):
        return refused(Refusal.TABLE_UNAVAILABLE)
    picked = Picked(table, staff.id, token_hash)
    old = held_table(session, staff.id)
    if old == (site, table):
        return Outcome(value=picked)
    if session.get(TableAssignment, (site, table)) is not None:
        return refused(Refusal.TABLE_UNAVAILABLE)
    ticket = serving_ticket(session, staff.id)
    if ticket is not None and ticket.site_id != site:
        # Their visitor is at the other site and cannot follow them here: finish first.
        return refused(Refusal.BUSY)
    events = _leave(session, staff.id, old, site)
    try:
        with session.begin_nested():
            session.add(TableAssignment(site_id=site, table_number=table, staff_id=staff.id))
    except IntegrityError:
        raise _TableLost() from None
    events.append(TablePicked(table, site=site))
    if ticket is not None:
        ticket.table_number = table
        events.append(TicketShown(ticket_view(ticket, staff.username), table, site=site))
    events.append(tables_changed(session, site=site))
    return Outcome(value=picked, events=seal(session, events))


def _leave(session: Session, staff_id: int, old: tuple[SiteId, int] | None,
           site: SiteId) -> list[Event]:
    """Free the table the staff member held before a pick; a move from another site also
    tells that site's screens who holds its tables now."""
    if old is None:
        return []
    session.execute(delete(TableAssignment).where(TableAssignment.staff_id == staff_id))
    events: list[Event] = [TableUnpicked(old[1], site=old[0])]
    if old[0] != site:
        events.append(tables_changed(session, site=old[0]))
    return events


def unpick(token_hash: str | None, *, site: SiteId) -> Outcome[int]:
    with unit_of_work() as session:
        staff = staff_for_token(session, token_hash)
        old = table_of(session, staff.id, site=site) if staff else None
        if staff is None or old is None:
            return refused(Refusal.NO_TABLE)
        session.execute(delete(TableAssignment).where(TableAssignment.staff_id == staff.id,
                                                      TableAssignment.site_id == site))
        return Outcome(value=old, events=seal(session, [TableUnpicked(old, site=site),
                                                        tables_changed(session, site=site)]))


def assignment(*, site: SiteId) -> TablesChanged:
    """Who holds a table of the site and which are taken, as committed right now."""
    with unit_of_work() as session:
        return tables_changed(session, site=site)


def assignment_reader(app: Flask) -> Callable[[SiteId], TablesChanged]:
    """`assignment` bound to an app, for a broadcast that may run outside a request."""

    def read(site: SiteId) -> TablesChanged:
        with app.app_context():
            return assignment(site=site)

    return read


def taken(*, site: SiteId) -> tuple[int, ...]:
    with unit_of_work() as session:
        return tables_changed(session, site=site).taken


def holds_table(staff_id: int, *, site: SiteId) -> bool:
    with unit_of_work() as session:
        return table_of(session, staff_id, site=site) is not None


def staff_id_for(token_hash: str | None, *, site: SiteId) -> int | None:
    """The account a login cookie names, if it works at this site: a console opened at
    another site binds nothing and hears none of that site's visitors."""
    with unit_of_work() as session:
        staff = staff_for_token(session, token_hash)
        return staff.id if staff and is_member(session, staff.id, site) else None
