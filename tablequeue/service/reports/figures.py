"""A period's figures, computed by the database: counts by outcome, visitors, wait and
service times, arrivals by local hour, and per staff member and per table.

Every ticket that started (signed in) in the period counts, whatever happened to it later.
Wait is start -> claim over every claimed ticket; service is claim -> end over completed
tickets only (a no-show's "service" is how long staff waited for someone who never came).
A returning visitor is one of the period's visitors who had signed in more than once by the
period's end (earlier in the period or at any time before it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from tablequeue.db import read_only
from tablequeue.models import Staff, TicketStatus
from tablequeue.service.reports import sql
from tablequeue.service.reports.percentiles import Spread, spreads
from tablequeue.service.reports.period import Period

C = sql.C
REMOVED = "(removed account)"


@dataclass(frozen=True)
class Totals:
    visitors: int = 0  # tickets
    unique: int = 0
    returning: int = 0
    served: int = 0
    no_shows: int = 0
    closed: int = 0
    waiting: int = 0
    serving: int = 0
    other: int = 0  # any later outcome (e.g. visitors who left the line themselves)


@dataclass(frozen=True)
class Row:
    """One staff member's or one table's numbers."""

    name: str
    served: int
    no_shows: int
    service: Spread


@dataclass
class Report:
    period: Period
    totals: Totals = field(default_factory=Totals)
    wait: Spread = field(default_factory=Spread)
    service: Spread = field(default_factory=Spread)
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    by_day: dict[date, int] = field(default_factory=dict)
    wait_by_day: dict[date, Spread] = field(default_factory=dict)
    heat: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    staff: list[Row] = field(default_factory=list)
    tables: list[Row] = field(default_factory=list)


def report(period: Period) -> Report:
    """Every figure for the period: one read-only snapshot, four grouped queries."""
    with read_only() as connection:
        dialect = connection.dialect.name
        result = Report(period, by_day={day: 0 for day in period.days})
        in_period = sql.in_period(period)
        outcomes = _arrivals(connection, dialect, result, in_period)
        unique, returning = _visitors(connection, period)
        result.totals = _totals(outcomes, unique, returning)
        waits = spreads(
            connection, sql.seconds_between(dialect, C.claimed_at, C.created_at),
            {"day": sql.day_index(dialect, period)}, {"all": None, "day": "day"},
            [in_period, C.claimed_at.is_not(None)],
        )
        result.wait = waits["all"].get(None, Spread())
        result.wait_by_day = {day: waits["day"].get(str(n), Spread())
                              for n, day in enumerate(period.days)}
        result.service, result.staff, result.tables = _desks(connection, dialect, in_period)
    return result


def _arrivals(connection: Connection, dialect: str, result: Report,
              in_period: ColumnElement[bool]) -> Counter[str]:
    """Tickets per hour bucket and outcome, folded into per local day, per local hour and
    weekday x hour; the outcome counts are returned for the totals."""
    bucket = sql.hour_bucket(dialect, result.period).label("bucket")
    outcome = sql.OUTCOME.label("outcome")
    outcomes: Counter[str] = Counter()
    rows = connection.execute(
        select(bucket, outcome, func.count()).where(in_period)
        .group_by(bucket, outcome)
    )
    zone = result.period.zone
    for value, word, count in rows:
        day, hour = sql.local_hour(value, zone)
        result.by_day[day] = result.by_day.get(day, 0) + count
        result.by_hour[hour] += count
        result.heat[day.weekday()][hour] += count
        outcomes[word] += count
    return outcomes


def _visitors(connection: Connection, period: Period) -> tuple[int, int]:
    """(unique, returning): visitors with a ticket in the period, and those of them who had
    signed in more than once by its end: twice in the period, or once before it (one index
    probe of (visitor_id, created_at) per visitor seen only once)."""
    per_visitor = (
        select(C.visitor_id, func.count().label("n")).where(sql.in_period(period))
        .group_by(C.visitor_id).subquery()
    )
    earlier = sql.TICKETS.alias("earlier")
    came_before = exists().where(earlier.c.visitor_id == per_visitor.c.visitor_id,
                                 earlier.c.created_at < period.start_utc)
    returning = case((per_visitor.c.n >= 2, 1), (came_before, 1), else_=0)
    row = connection.execute(select(func.count(), func.coalesce(func.sum(returning), 0))).one()
    return int(row[0]), int(row[1])


def _totals(outcomes: Counter[str], unique: int, returning: int) -> Totals:
    known = (sql.COMPLETED, sql.NO_SHOW, sql.CLOSED, TicketStatus.WAITING, TicketStatus.SERVING)
    other = sum(count for word, count in outcomes.items() if word not in known)
    return Totals(sum(outcomes.values()), unique, returning, outcomes[sql.COMPLETED],
                  outcomes[sql.NO_SHOW], outcomes[sql.CLOSED], outcomes[TicketStatus.WAITING],
                  outcomes[TicketStatus.SERVING], other)


def _desks(connection: Connection, dialect: str, in_period: ColumnElement[bool]
           ) -> tuple[Spread, list[Row], list[Row]]:
    """Service spread overall, and served, no-shows and service per staff member and per
    table: one count query, one spreads statement."""
    rows = connection.execute(
        select(C.staff_id, C.table_number, func.sum(sql.case_one(C.status == TicketStatus.COMPLETED)),
               func.sum(sql.case_one(sql.IS_NO_SHOW)))
        .where(in_period, C.claimed_at.is_not(None))
        .group_by(C.staff_id, C.table_number)
    ).all()
    services = spreads(
        connection, sql.seconds_between(dialect, C.ended_at, C.claimed_at),
        {"staff": C.staff_id, "table": C.table_number},
        {"all": None, "staff": "staff", "table": "table"},
        [in_period, C.status == TicketStatus.COMPLETED],
    )
    staff: dict[Any, list[int]] = {}
    tables: dict[Any, list[int]] = {}
    for staff_id, table, served, no_shows in rows:
        for per, key in ((staff, staff_id), (tables, table)):
            counts = per.setdefault(key, [0, 0])
            counts[0] += int(served)
            counts[1] += int(no_shows)
    names = _staff_names(connection)
    staff_rows = sorted(
        (Row(_staff_name(k, names), served, no_shows,
             services["staff"].get(None if k is None else str(k), Spread()))
         for k, (served, no_shows) in staff.items()), key=lambda r: (-r.served, r.name))
    table_rows = [Row(str(k), served, no_shows, services["table"].get(str(k), Spread()))
                  for k, (served, no_shows) in sorted(tables.items(), key=lambda kv: kv[0])
                  if k is not None]
    return services["all"].get(None, Spread()), staff_rows, table_rows


def _staff_names(connection: Connection) -> dict[Any, str]:
    return {row.id: row.username for row in connection.execute(select(Staff.id, Staff.username))}


def _staff_name(key: Any, names: dict[Any, str]) -> str:
    return REMOVED if key is None else names.get(key, REMOVED)
