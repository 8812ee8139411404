"""The few expressions the two databases write differently: local wall-clock time,
seconds between two instants, and a ticket's outcome.

Local time. PostgreSQL converts exactly with `timezone(zone, created_at)` (its own tz
database, DST included). SQLite has no time zones: the period's UTC offsets are worked out
in Python (period.offset_ranges, one to three pieces a year) and each row is shifted by the
offset of the piece it falls in, a CASE over at most a few boundaries. Both give the wall
clock a person saw: in the autumn the repeated hour counts into that hour twice, and the
spring's skipped hour is simply empty."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Integer, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from tablequeue.models import Ticket, TicketStatus
from tablequeue.service.reports.period import Period, offset_ranges

TICKETS = Ticket.__table__
C = TICKETS.c

# Outcome words of the report and the CSV. A cancelled ticket that was claimed was a
# no-show (only its staff member can cancel it, and only while serving it); one never
# claimed was closed at the end of the day (closing cancels waiting tickets, and a ticket
# handed back to the line loses its claim). Any other status is its own word (`left`).
COMPLETED, NO_SHOW, CLOSED = "completed", "no-show", "closed"
OUTCOME: ColumnElement[Any] = case(
    (C.status == TicketStatus.COMPLETED, literal(COMPLETED)),
    ((C.status == TicketStatus.CANCELLED) & C.claimed_at.is_not(None), literal(NO_SHOW)),
    (C.status == TicketStatus.CANCELLED, literal(CLOSED)),
    else_=C.status,
)
IS_NO_SHOW = (C.status == TicketStatus.CANCELLED) & C.claimed_at.is_not(None)
IS_CLOSED = (C.status == TicketStatus.CANCELLED) & C.claimed_at.is_(None)


def in_period(period: Period) -> ColumnElement[bool]:
    """Tickets that started in the period (the index on created_at serves it)."""
    return (C.created_at >= period.start_utc) & (C.created_at < period.end_utc)


def seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Whole seconds from `earlier` to `later` (times are stored to the second)."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", later - earlier), Integer)
    if sqlite3.sqlite_version_info >= (3, 38):
        return func.unixepoch(later) - func.unixepoch(earlier)  # 3x faster than strftime('%s')
    return cast(func.round((func.julianday(later) - func.julianday(earlier)) * 86400), Integer)


def local_text(dialect: str, period: Period, column: Any, sqlite_format: str,
               postgresql_format: str) -> ColumnElement[str]:
    """`column` as local wall-clock text, e.g. '2026-03-08 09' for the hour."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(period.zone.key, column), postgresql_format)
    pieces = offset_ranges(period.start_utc, period.end_utc, period.zone)
    shifts = [f"{offset:+d} seconds" for _, offset in pieces]
    if len(pieces) == 1:
        return func.strftime(sqlite_format, column, shifts[0])
    # Each piece holds until the next one starts: test the boundaries in order.
    shift = case(*[(column < start, literal(before)) for (start, _), before
                   in zip(pieces[1:], shifts)], else_=literal(shifts[-1]))
    return func.strftime(sqlite_format, column, shift)


def local_hour(dialect: str, period: Period, column: Any = C.created_at) -> ColumnElement[str]:
    return local_text(dialect, period, column, "%Y-%m-%d %H", "YYYY-MM-DD HH24")


def local_day(dialect: str, period: Period, column: Any = C.created_at) -> ColumnElement[str]:
    return local_text(dialect, period, column, "%Y-%m-%d", "YYYY-MM-DD")



def case_one(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where `condition` holds, else 0: SUM() of it counts rows."""
    return case((condition, 1), else_=0)
