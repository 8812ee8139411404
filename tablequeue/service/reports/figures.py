"""A period's figures: counts by outcome, visitors, wait and service times, arrivals by
local hour, and per staff member, per table and per service line (lines.py).

Every ticket that started (signed in) in the period counts, whatever happened to it later.
Wait is start -> claim over every claimed ticket; service is claim -> end over completed
tickets only (a no-show's "service" is how long staff waited for someone who never came).
A returning visitor is one of the period's visitors who had signed in more than once by the
period's end (earlier in the period or at any time before it).

Everything but the visitors is a sum over days (days.py): finished days come from their
rollups, the others are counted now, and the sums are merged here. Visitors are not a sum
(the same person on two days is one visitor), so they are counted over the whole period."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import case, exists, func, select
from sqlalchemy.engine import Connection

from tablequeue import turns
from tablequeue.models import Staff, TicketStatus
from tablequeue.service.reports import lines as per_line
from tablequeue.service.reports import rollups, sql
from tablequeue.service.reports.days import Doc
from tablequeue.service.reports.percentiles import Spread, spread, spread_sorted
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
    lines: list[per_line.LineRow] = field(default_factory=list)


class _Desks:
    """Served, no-shows and the service histogram per staff member or per table."""

    def __init__(self) -> None:
        self.counts: dict[Any, list[int]] = {}
        self.service: dict[Any, dict[int, int]] = {}

    def add(self, key: Any, served: int, no_shows: int, histogram: list[int]) -> None:
        counts = self.counts.get(key) or self.counts.setdefault(key, [0, 0])
        counts[0] += served
        counts[1] += no_shows
        _add(self.service.get(key) or self.service.setdefault(key, {}), histogram)

    def rows(self, name: Any) -> list[Row]:
        return [Row(name(key), served, no_shows, spread(self.service[key]))
                for key, (served, no_shows) in self.counts.items()]


def report(period: Period) -> Report:
    """Every figure for the period, from one read-only snapshot; the finished days it had
    to count are kept afterwards for the next report."""
    days, (unique, returning, names, lines) = rollups.days(
        period, lambda c: visitors(c, period))
    result = merge(period, days, unique, returning, names)
    result.lines = _lines(period, days, lines)
    return result


def visitors(connection: Connection, period: Period
             ) -> tuple[int, int, dict[Any, str], dict[int, tuple[str, int, bool]]]:
    """(unique, returning, staff names, line names): what is read live beside the days."""
    return (*_visitors(connection, period), _staff_names(connection),
            per_line.names(connection, period.site))


def _lines(period: Period, days: dict[date, Doc],
           names: dict[int, tuple[str, int, bool]]) -> list[per_line.LineRow]:
    sums = per_line.Sums()
    for day in period.days:
        sums.add(days[day].get("l", []), _add)
    return sums.rows(names)


def merge(period: Period, days: dict[date, Doc], unique: int, returning: int,
          names: dict[Any, str]) -> Report:
    """The period's figures as the sum of its days'."""
    result = Report(period, by_day={day: 0 for day in period.days})
    outcomes: Counter[str] = Counter()
    wait: dict[int, int] = {}
    service: dict[int, int] = {}
    staff, tables = _Desks(), _Desks()
    slices = turns.Slices()  # a year is 365 documents: not all in one turn of the worker
    for day in period.days:
        slices.check()
        doc = days[day]
        outcomes.update(doc["o"])
        weekday = result.heat[day.weekday()]
        for hour, n in enumerate(doc["h"]):
            result.by_hour[hour] += n
            weekday[hour] += n
        result.by_day[day] = sum(doc["h"])
        result.wait_by_day[day] = spread_sorted(_pairs(doc["w"]))
        _add(wait, doc["w"])
        _add(service, doc["s"])
        for key, served, no_shows, histogram in doc["staff"]:
            staff.add(key if key in names else None, served, no_shows, histogram)
        for key, served, no_shows, histogram in doc["tables"]:
            if key is not None:  # claimed before tables were numbered: no table to show
                tables.add(key, served, no_shows, histogram)
    result.totals = _totals(outcomes, unique, returning)
    result.wait, result.service = spread(wait), spread(service)
    result.staff = sorted(staff.rows(lambda k: REMOVED if k is None else names[k]),
                          key=lambda r: (-r.served, r.name))
    result.tables = sorted(tables.rows(str), key=lambda r: int(r.name))
    return result


def _pairs(histogram: list[int]) -> list[tuple[int, int]]:
    it = iter(histogram)
    return list(zip(it, it, strict=False))  # [t, n, t, n, ...] -> [(t, n), ...]


def _add(into: dict[int, int], histogram: list[int]) -> None:
    """Adds a flat [tenths, count, ...] histogram into {tenths: count}."""
    get = into.get
    it = iter(histogram)
    for t, n in zip(it, it, strict=False):
        into[t] = get(t, 0) + n


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


def _staff_names(connection: Connection) -> dict[Any, str]:
    return {row.id: row.username for row in connection.execute(select(Staff.id, Staff.username))}
