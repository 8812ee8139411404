"""One local day's figures, counted by the database, in a form that adds up across days.

A day is: tickets by outcome, arrivals per local hour, the wait and service histograms
(tenths of a minute, percentiles.py), per staff member and per table the served,
no-shows and service histogram, and per service line its figures (lines.py). All of it
is a sum over tickets, so a period's figures are the sums of its days' (figures.py),
whether a day was just counted or kept from earlier (rollups.py). Staff (and lines) are
kept by id and named when shown: a removed account needs no rewrite of the days it worked.

The document form (`Doc`, plain JSON types) is what rollups store and what figures.py
merges; histograms are flat [tenths, count, tenths, count, ...] lists, ascending."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.engine import Connection

from tablequeue.models import TicketStatus
from tablequeue.service.reports import lines as per_line
from tablequeue.service.reports import sql
from tablequeue.service.reports.percentiles import tenths
from tablequeue.service.reports.period import Period

C = sql.C
FORMAT = 2  # bump when Doc changes: stored days of another format are counted again
Doc = dict[str, Any]
SERVED, NO_SHOW, OTHER = 0, 1, 2  # what a claimed ticket became, for the desks


@dataclass
class Desk:
    served: int = 0
    no_shows: int = 0
    service: Counter[int] = field(default_factory=Counter)


@dataclass
class Day:
    outcomes: Counter[str] = field(default_factory=Counter)
    hours: list[int] = field(default_factory=lambda: [0] * 24)
    wait: Counter[int] = field(default_factory=Counter)
    service: Counter[int] = field(default_factory=Counter)
    staff: dict[Any, Desk] = field(default_factory=dict)
    tables: dict[Any, Desk] = field(default_factory=dict)
    lines: dict[int, per_line.LineDay] = field(default_factory=dict)


def count(connection: Connection, period: Period) -> dict[date, Doc]:
    """Every day of the period (a run of consecutive days), counted from its tickets: three
    grouped statements over the period's range of ix_tickets_report, and the lines'."""
    dialect = connection.dialect.name
    days = {day: Day() for day in period.days}
    _arrivals(connection, dialect, period, days)
    _waits(connection, dialect, period, days)
    _desks(connection, dialect, period, days)
    only = per_line.only_line(connection, period.site)
    if only is not None:  # no statement more for a site of one line
        for figures in days.values():
            if figures.outcomes:
                figures.lines = {only: per_line.whole(figures.outcomes, figures.wait,
                                                      figures.service)}
    else:
        for day, lines in per_line.count(connection, dialect, period).items():
            days[day].lines = lines
    return {day: encode(figures) for day, figures in days.items()}


def _arrivals(connection: Connection, dialect: str, period: Period, days: dict[date, Day]) -> None:
    """Tickets per hour bucket and outcome, each bucket placed in its local day and hour."""
    bucket = sql.hour_bucket(dialect, period).label("bucket")
    outcome = sql.OUTCOME.label("outcome")
    rows = connection.execute(select(bucket, outcome, func.count())
                              .where(sql.in_period(period)).group_by(bucket, outcome))
    for value, word, n in rows:
        day, hour = sql.local_hour(value, period.zone)
        days[day].hours[hour] += n
        days[day].outcomes[word] += n


def _waits(connection: Connection, dialect: str, period: Period, days: dict[date, Day]) -> None:
    # Grouped outside the row query: PostgreSQL sees two bound copies of one expression in
    # SELECT and GROUP BY as different expressions.
    rows = select(sql.day_index(dialect, period).label("d"),
                  tenths(sql.seconds_between(dialect, C.claimed_at, C.created_at)).label("t")
                  ).where(sql.in_period(period), C.claimed_at.is_not(None)).subquery()
    for index, t, n in connection.execute(
            select(rows.c.d, rows.c.t, func.count()).group_by(rows.c.d, rows.c.t)):
        days[period.first + timedelta(days=int(index))].wait[int(t)] += n


def _desks(connection: Connection, dialect: str, period: Period, days: dict[date, Day]) -> None:
    """Claimed tickets by day, staff member, table, what they became and (served ones)
    service time: each row counts toward its staff member, its table and the day."""
    became = case((C.status == TicketStatus.COMPLETED, literal(SERVED)),
                  (sql.IS_NO_SHOW, literal(NO_SHOW)), else_=literal(OTHER))
    service = case((C.status == TicketStatus.COMPLETED,
                    tenths(sql.seconds_between(dialect, C.ended_at, C.claimed_at))), else_=None)
    rows = select(sql.day_index(dialect, period).label("d"), C.staff_id, C.table_number,
                  became.label("b"), service.label("t")
                  ).where(sql.in_period(period), C.claimed_at.is_not(None)).subquery()
    group = (rows.c.d, rows.c.staff_id, rows.c.table_number, rows.c.b, rows.c.t)
    for index, staff, table, kind, t, n in connection.execute(
            select(*group, func.count()).group_by(*group)):
        day = days[period.first + timedelta(days=int(index))]
        if kind == SERVED:
            day.service[int(t)] += n
        for per, key in ((day.staff, staff), (day.tables, table)):
            desk = per.get(key) or per.setdefault(key, Desk())
            if kind == SERVED:
                desk.served += n
                desk.service[int(t)] += n
            elif kind == NO_SHOW:
                desk.no_shows += n


def encode(day: Day) -> Doc:
    return {"v": FORMAT, "o": dict(day.outcomes), "h": day.hours, "w": flat(day.wait),
            "s": flat(day.service), "staff": _desks_doc(day.staff),
            "tables": _desks_doc(day.tables), "l": per_line.encode(day.lines, flat)}


def _desks_doc(desks: dict[Any, Desk]) -> list[list[Any]]:
    return [[key, d.served, d.no_shows, flat(d.service)] for key, d in desks.items()]


def flat(histogram: Counter[int]) -> list[int]:
    """{tenths: count} as [tenths, count, ...] in ascending tenths (compact in JSON)."""
    return [x for pair in sorted(histogram.items()) for x in pair]
