"""Picking and leaving tables: one staff member per table, one table per staff member."""

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
    TablePicked,
    TablesChanged,
    TableUnpicked,
    TicketShown,
    refused,
)
from tablequeue.service.admin import table_count
from tablequeue.service.identity import staff_for_token
from tablequeue.service.views import serving_ticket, table_of, tables_changed, ticket_view


@dataclass(frozen=True)
class Picked:
    table: int
    staff_id: int
    token_hash: str


class _TableLost(Exception):
    """Another transaction took the table between our check and our insert (PostgreSQL)."""


def pick(token_hash: str | None, table: int | None) -> Outcome[Picked]:
    """Bind to the token's staff member and give them `table` (moving them if they had one)."""
    try:
        with unit_of_work() as session:
            return _pick(session, token_hash, table)
    except _TableLost:
        # Raised inside the transaction, so a move that loses the race keeps the old table.
        return refused(Refusal.TABLE_UNAVAILABLE)


def _pick(session: Session, token_hash: str | None, table: int | None) -> Outcome[Picked]:
    staff = staff_for_token(session, token_hash)
    if staff is None or token_hash is None:
        return refused(Refusal.TOKEN_INVALID)
    if table is None or not 0 <= table < table_count(session):
        return refused(Refusal.TABLE_UNAVAILABLE)
    picked = Picked(table, staff.id, token_hash)
    old = table_of(session, staff.id)
    if old == table:
        return Outcome(value=picked)
    if session.get(TableAssignment, table) is not None:
        return refused(Refusal.TABLE_UNAVAILABLE)
    events: list[Event] = []
    if old is not None:
        session.execute(delete(TableAssignment).where(TableAssignment.staff_id == staff.id))
        events.append(TableUnpicked(old))
    try:
        with session.begin_nested():
            session.add(TableAssignment(table_number=table, staff_id=staff.id))
    except IntegrityError:
        raise _TableLost() from None
    events.append(TablePicked(table))
    ticket = serving_ticket(session, staff.id)
    if ticket is not None:
        ticket.table_number = table
        events.append(TicketShown(ticket_view(ticket, staff.username), table))
    events.append(tables_changed(session))
    return Outcome(value=picked, events=events)


def unpick(token_hash: str | None) -> Outcome[int]:
    with unit_of_work() as session:
        staff = staff_for_token(session, token_hash)
        old = table_of(session, staff.id) if staff else None
        if staff is None or old is None:
            return refused(Refusal.NO_TABLE)
        session.execute(delete(TableAssignment).where(TableAssignment.staff_id == staff.id))
        return Outcome(value=old, events=[TableUnpicked(old), tables_changed(session)])


def assignment() -> TablesChanged:
    """Who holds a table and which tables are taken, as committed right now."""
    with unit_of_work() as session:
        return tables_changed(session)


def assignment_reader(app: Flask) -> Callable[[], TablesChanged]:
    """`assignment` bound to an app, for a broadcast that may run outside a request."""

    def read() -> TablesChanged:
        with app.app_context():
            return assignment()

    return read


def taken() -> tuple[int, ...]:
    with unit_of_work() as session:
        return tables_changed(session).taken


def holds_table(staff_id: int) -> bool:
    with unit_of_work() as session:
        return table_of(session, staff_id) is not None


def staff_id_for(token_hash: str | None) -> int | None:
    with unit_of_work() as session:
        staff = staff_for_token(session, token_hash)
        return staff.id if staff else None
