"""The few expressions the two databases write differently: local wall-clock time,
seconds between two instants, and a ticket's outcome.

Local time. PostgreSQL converts exactly with `timezone(zone, created_at)` (its own tz
database, DST included). SQLite has no time zones and parsing a date per row is slow, so it
works on the stored UTC text: arrivals are grouped by UTC hour (a text prefix) and each
group is placed in its local hour by zoneinfo in Python (a year is 8,760 groups); the local
day of a row is its epoch seconds plus the UTC offset then in force, divided by a day
(day_index; the offsets come from Python, period.offset_ranges). Both are exact across DST:
in the autumn the repeated hour counts into that hour twice, and the spring's skipped hour
is simply empty. SQLite groups by the UTC minute instead when the zone has a non-whole-hour
offset (India, Nepal)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, case, cast, func, literal
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
    """The site's tickets that started in the period: a range of ix_tickets_report (site
    first), which holds every column a report reads (no table rows visited)."""
    return ((C.site_id == period.site) & (C.created_at >= period.start_utc)
            & (C.created_at < period.end_utc))


def seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Whole seconds from `earlier` to `later` (times are stored to the second)."""
    if dialect == "postgresql":
        return cast(func.floor(func.extract("epoch", later - earlier)), Integer)
    return epoch_seconds(later) - epoch_seconds(earlier)


def hour_bucket(dialect: str, period: Period) -> ColumnElement[Any]:
    """What to GROUP BY so that each group lies in one local hour (see local_hour).

    PostgreSQL: the local hour itself. SQLite: the UTC hour as text ('2026-03-08 14', a
    prefix of the stored text: no date parsing per row), or the UTC minute when the zone
    has a non-whole-hour offset in the period (India, Nepal...)."""
    if dialect == "postgresql":
        return func.date_trunc("hour", func.timezone(period.zone.key, C.created_at))
    whole_hours = all(offset % 3600 == 0 for _, offset in
                      offset_ranges(period.start_utc, period.end_utc, period.zone))
    return func.substr(C.created_at, 1, 13 if whole_hours else 16)


def local_hour(bucket: Any, zone: ZoneInfo) -> tuple[date, int]:
    """A hour_bucket value as the local (day, hour) it belongs to."""
    if isinstance(bucket, datetime):
        return bucket.date(), bucket.hour
    text = bucket if len(bucket) > 13 else bucket + ":00"
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    local = moment.astimezone(zone)
    return local.date(), local.hour


def day_index(dialect: str, period: Period) -> ColumnElement[Any]:
    """The local day a ticket started on, as days since the period's first day.

    PostgreSQL converts. SQLite: (epoch seconds + the UTC offset in force) // 86400 is the
    local date's day number; the offset comes from the period's few offset pieces (a CASE
    of at most a few text comparisons: cheaper per row than parsing a date with a zone
    modifier, or comparing with each local midnight)."""
    if dialect == "postgresql":
        local = cast(func.timezone(period.zone.key, C.created_at), Date)
        return local - literal(period.first, Date)
    pieces = offset_ranges(period.start_utc, period.end_utc, period.zone)
    offset: ColumnElement[Any] = literal(pieces[0][1])
    if len(pieces) > 1:
        offset = case(*[(C.created_at < start, literal(before)) for (_, before), (start, _)
                        in pairwise(pieces)], else_=literal(pieces[-1][1]))
    first = (period.first - date(1970, 1, 1)).days
    return (epoch_seconds(C.created_at) + offset) // 86400 - first


def epoch_seconds(column: Any) -> ColumnElement[int]:
    """SQLite: whole seconds since 1970 of a stored UTC time."""
    if sqlite3.sqlite_version_info >= (3, 38):
        return func.unixepoch(column)
    return cast(func.round((func.julianday(column) - 2440587.5) * 86400), Integer)


def case_one(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """1 where `condition` holds, else 0: SUM() of it counts rows."""
    return case((condition, 1), else_=0)
