"""Per service line (docs/lines.md): arrivals, served, no-shows, transfers out, and the wait
and service histograms, per local day in the form days.py keeps (they add up across days).

A ticket arrives in the line it first joined (its first transfer's `from`, or its line).
A transfer is a service of the line it left: the wait there runs from the ticket's
arrival (or its previous transfer) to the claim, the service from the claim to the
transfer; the ticket's own end counts in the line it ended in, its wait from its latest
transfer (or arrival) to its last claim. Tickets never transferred (nearly all) are counted
by the database in two grouped statements; the few transferred ones are read with their
transfers and counted here. A site that has only ever had one line (most of them) costs
nothing more: its line's figures are the day's own (`whole`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func, literal, select
from sqlalchemy.engine import Connection

from tablequeue.models import Line, TicketStatus, Transfer
from tablequeue.service.reports import sql
from tablequeue.service.reports.percentiles import Spread, spread, tenths
from tablequeue.service.reports.period import Period

C = sql.C
MOVES, LINES = Transfer.__table__, Line.__table__
SERVED, NO_SHOW, OTHER = 0, 1, 2
REMOVED = " (removed)"


@dataclass
class LineDay:
    arrivals: int = 0
    served: int = 0  # completed here, or transferred out of here
    no_shows: int = 0
    transfers: int = 0  # out of this line
    wait: Counter[int] = field(default_factory=Counter)
    service: Counter[int] = field(default_factory=Counter)


@dataclass(frozen=True)
class LineRow:
    """One line's numbers over a period, for the page."""

    name: str
    arrivals: int
    served: int
    no_shows: int
    transfers: int
    wait: Spread
    service: Spread


PerDay = dict[date, dict[int, LineDay]]


def only_line(connection: Connection, site: int) -> int | None:
    """The site's line if it has only ever had one (removed lines count), else None."""
    ids = connection.execute(select(LINES.c.id).where(LINES.c.site_id == site).limit(2)).all()
    return int(ids[0][0]) if len(ids) == 1 else None


def whole(outcomes: Counter[str], wait: Counter[int], service: Counter[int]) -> LineDay:
    """The one line of a site that has only one: every ticket of the day is its."""
    return LineDay(sum(outcomes.values()), outcomes[sql.COMPLETED], outcomes[sql.NO_SHOW], 0,
                   Counter(wait), Counter(service))


def count(connection: Connection, dialect: str, period: Period) -> PerDay:
    days: PerDay = {day: {} for day in period.days}

    def at(index: Any, line: int) -> LineDay:
        per = days[period.first + timedelta(days=int(index))]
        return per.get(line) or per.setdefault(line, LineDay())

    _unmoved(connection, dialect, period, at)
    _moved(connection, dialect, period, at)
    return days


def _became() -> Any:
    return case((C.status == TicketStatus.COMPLETED, literal(SERVED)),
                (sql.IS_NO_SHOW, literal(NO_SHOW)), else_=literal(OTHER))


def _unmoved(connection: Connection, dialect: str, period: Period,
             at: Callable[[Any, int], LineDay]) -> None:
    """Tickets never transferred: arrivals, outcomes and waits by (day, line, outcome,
    wait), then service times by (day, line, service)."""
    kept = sql.in_period(period) & ~exists().where(MOVES.c.ticket_id == C.id)
    index = sql.day_index(dialect, period).label("d")
    wait = case((C.claimed_at.is_not(None),
                 tenths(sql.seconds_between(dialect, C.claimed_at, C.created_at))), else_=None)
    rows = select(index, C.line_id.label("l"), _became().label("b"), wait.label("w")
                  ).where(kept).subquery()
    group = (rows.c.d, rows.c.l, rows.c.b, rows.c.w)
    for day, line, kind, t, n in connection.execute(select(*group, func.count()).group_by(*group)):
        figures = at(day, line)
        figures.arrivals += n
        figures.served += n if kind == SERVED else 0
        figures.no_shows += n if kind == NO_SHOW else 0
        if t is not None:
            figures.wait[int(t)] += n
    service = tenths(sql.seconds_between(dialect, C.ended_at, C.claimed_at)).label("s")
    served = select(sql.day_index(dialect, period).label("d"), C.line_id.label("l"), service
                    ).where(kept, C.status == TicketStatus.COMPLETED).subquery()
    by = (served.c.d, served.c.l, served.c.s)
    for day, line, t, n in connection.execute(select(*by, func.count()).group_by(*by)):
        at(day, line).service[int(t)] += n


def _moved(connection: Connection, dialect: str, period: Period,
           at: Callable[[Any, int], LineDay]) -> None:
    """The few transferred tickets, one by one with their transfers (oldest first)."""
    moved = sql.in_period(period) & exists().where(MOVES.c.ticket_id == C.id)
    tickets = connection.execute(
        select(C.id, sql.day_index(dialect, period), C.line_id, _became(), C.created_at,
               C.claimed_at, C.ended_at).where(moved)).all()
    if not tickets:
        return
    ids = [row[0] for row in tickets]
    hops: dict[int, list[Any]] = {}
    for hop in connection.execute(
            select(MOVES.c.ticket_id, MOVES.c.from_line_id, MOVES.c.claimed_at,
                   MOVES.c.transferred_at).where(MOVES.c.ticket_id.in_(ids))
            .order_by(MOVES.c.ticket_id, MOVES.c.id)):
        hops.setdefault(hop[0], []).append(hop)
    for ticket_id, day, line, kind, created, claimed, ended in tickets:
        moves = hops.get(ticket_id, [])
        at(day, moves[0][1] if moves else line).arrivals += 1
        since = created
        for _, left, hop_claimed, moved_at in moves:
            figures = at(day, left)
            figures.served += 1
            figures.transfers += 1
            if hop_claimed is not None:
                figures.wait[_tenths(hop_claimed, since)] += 1
                figures.service[_tenths(moved_at, hop_claimed)] += 1
            since = moved_at
        figures = at(day, line)
        if claimed is not None:
            figures.wait[_tenths(claimed, since)] += 1
        if kind == SERVED and ended is not None and claimed is not None:
            figures.served += 1
            figures.service[_tenths(ended, claimed)] += 1
        elif kind == NO_SHOW:
            figures.no_shows += 1


def _tenths(later: datetime, earlier: datetime) -> int:
    """Whole seconds to tenths of a minute, half up, as percentiles.tenths does in SQL."""
    return (max(0, int((later - earlier).total_seconds())) + 3) // 6


def encode(lines: dict[int, LineDay], flat: Callable[[Counter[int]], list[int]]) -> list[Any]:
    return [[line, d.arrivals, d.served, d.no_shows, d.transfers, flat(d.wait), flat(d.service)]
            for line, d in sorted(lines.items())]


class Sums:
    """A period's per-line sums, day document after day document."""

    def __init__(self) -> None:
        self.counts: dict[int, list[int]] = {}
        self.wait: dict[int, dict[int, int]] = {}
        self.service: dict[int, dict[int, int]] = {}

    def add(self, doc: list[Any], add: Callable[[dict[int, int], list[int]], None]) -> None:
        for line, arrivals, served, no_shows, transfers, wait, service in doc:
            counts = self.counts.get(line) or self.counts.setdefault(line, [0, 0, 0, 0])
            for i, n in enumerate((arrivals, served, no_shows, transfers)):
                counts[i] += n
            add(self.wait.get(line) or self.wait.setdefault(line, {}), wait)
            add(self.service.get(line) or self.service.setdefault(line, {}), service)

    def rows(self, names: dict[int, tuple[str, int, bool]]) -> list[LineRow]:
        """In the site's order of its lines, every line that exists (figures or not), then
        removed lines that had any."""
        shown = [line for line, (_, _, removed) in names.items() if not removed]
        shown += [line for line in self.counts if line not in shown and line in names]
        shown.sort(key=lambda line: (names[line][2], names[line][1], line))
        return [self._row(line, names[line]) for line in shown]

    def _row(self, line: int, named: tuple[str, int, bool]) -> LineRow:
        arrivals, served, no_shows, transfers = self.counts.get(line, [0, 0, 0, 0])
        name = named[0] + (REMOVED if named[2] else "")
        return LineRow(name, arrivals, served, no_shows, transfers,
                       spread(self.wait.get(line, {})), spread(self.service.get(line, {})))


def names(connection: Connection, site: int) -> dict[int, tuple[str, int, bool]]:
    """Every line of the site, removed ones too: id -> (name, position, removed)."""
    rows = connection.execute(select(LINES.c.id, LINES.c.name, LINES.c.position,
                                     LINES.c.removed_at).where(LINES.c.site_id == site))
    return {row.id: (row.name, row.position, row.removed_at is not None) for row in rows}
