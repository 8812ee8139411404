"""Finished days' figures kept (report_days), so a report counts only what can still change.

A local day is final once it is over (GRACE after its last local moment, so a ticket
signed in at 23:59:59 and committed a moment later is not missed) and none of its tickets
still waits or is being served: a finished ticket never changes again on the ticket path
(every transition starts from waiting or serving). Only deletions change a finished day,
and each forgets the days it touched, in the same transaction, by their UTC span (every
zone at once): the purge and deleting a visitor remove tickets; removing a staff account
sets their tickets' staff to NULL, and on SQLite a later account may get the same id.
Those forgetters bump report_epoch; a report writes the days it counted only if the epoch
is still the one its snapshot read.

Nothing here runs on the ticket path: the days are counted by the first report that needs
them (or `flask reports warm`), and kept per site and time zone (another zone's day is
another span)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import TypeVar

from sqlalchemy import Table, and_, delete, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from tablequeue import turns
from tablequeue.db import read_only, rowcount, transaction
from tablequeue.models import ReportDay, ReportEpoch, TicketStatus, utcnow
from tablequeue.service.reports import days as counting
from tablequeue.service.reports import sql
from tablequeue.service.reports.days import Doc
from tablequeue.service.reports.period import Period, local_midnight

GRACE = timedelta(minutes=10)
# Counting a week of a busy desk (~20,000 tickets) holds the worker ~0.1 s; a whole cold
# year in one piece held it ~6 s, every websocket on it waiting (turns.py).
RUN_DAYS = 7
DAYS, EPOCH = ReportDay.__table__, ReportEpoch.__table__
C = sql.C
T = TypeVar("T")
log = logging.getLogger(__name__)
# Both dialects' INSERT ... ON CONFLICT, alike enough to be used the same way.
_INSERT: dict[str, Callable[[Table], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert, "postgresql": postgresql.insert}


def days(period: Period, live: Callable[[Connection], T]) -> tuple[dict[date, Doc], T]:
    """Every day of the period as a document, and what `live` reads, from one snapshot:
    kept days where final, the rest counted now (in runs of consecutive days); the final
    ones among those are kept afterwards."""
    with read_only() as connection:
        generation = _generation(connection)
        final = final_days(connection, period, utcnow())
        found = {day: doc for day, doc in kept(connection, period).items() if day in final}
        counted: dict[date, Doc] = {}
        for run in runs([day for day in period.days if day not in found], period):
            counted.update(counting.count(connection, run))
            turns.pause()  # a cold year is seconds of counting: let the websockets in between
        extra = live(connection)
    fresh = {day: doc for day, doc in counted.items() if day in final}
    if fresh:
        keep(period, fresh, generation)
    return found | counted, extra


def final_days(connection: Connection, period: Period, now: datetime) -> set[date]:
    """The period's days that are over and have no ticket waiting or in service (the few
    open tickets, read through ix_tickets_status_id, placed in their local day)."""
    open_tickets = connection.execute(
        select(C.created_at).where(C.site_id == period.site,
                                   C.status.in_((TicketStatus.WAITING, TicketStatus.SERVING))))
    busy = {created.astimezone(period.zone).date() for (created,) in open_tickets}
    return {day for day in period.days if day not in busy
            and local_midnight(day + timedelta(days=1), period.zone) + GRACE <= now}


def kept(connection: Connection, period: Period) -> dict[date, Doc]:
    rows = connection.execute(
        select(DAYS.c.day, DAYS.c.figures).where(
            DAYS.c.site_id == period.site, DAYS.c.zone == period.zone.key,
            DAYS.c.day >= period.first, DAYS.c.day <= period.last))
    found = {day: json.loads(text) for day, text in rows}
    return {day: doc for day, doc in found.items() if doc.get("v") == counting.FORMAT}


def runs(missing: list[date], period: Period) -> list[Period]:
    """Consecutive days (ascending) as periods of at most RUN_DAYS: one set of statements
    per run, and between two runs the worker's other greenlets get a turn."""
    pieces = groupby(enumerate(missing), key=lambda pair: pair[1] - timedelta(days=pair[0]))
    result = []
    for _, group in pieces:
        block = [day for _, day in group]
        for start in range(0, len(block), RUN_DAYS):
            part = block[start:start + RUN_DAYS]
            result.append(Period(part[0], part[-1], period.zone, site=period.site))
    return result


def keep(period: Period, docs: dict[date, Doc], generation: int) -> None:
    """Store counted final days, unless something forgot days since the snapshot. A
    failure here costs the next report a recount, not this page: logged, not raised."""
    zone = period.zone
    try:
        with transaction() as connection:
            if _generation(connection, lock=True) != generation:
                return
            insert = _INSERT[connection.dialect.name](DAYS)
            # Replaces a day kept in an older format (kept() ignores those); the same
            # day counted by two reports at once is the same figures either way.
            insert = insert.on_conflict_do_update(
                index_elements=[DAYS.c.site_id, DAYS.c.zone, DAYS.c.day],
                set_={"figures": insert.excluded.figures, "start_utc": insert.excluded.start_utc,
                      "end_utc": insert.excluded.end_utc})
            connection.execute(insert, [
                {"site_id": period.site, "zone": zone.key, "day": day,
                 "start_utc": local_midnight(day, zone),
                 "end_utc": local_midnight(day + timedelta(days=1), zone),
                 "figures": json.dumps(doc, separators=(",", ":"))}
                for day, doc in docs.items()])
    except SQLAlchemyError:
        log.warning("report days not kept", exc_info=True)


def _generation(connection: Connection, lock: bool = False) -> int:
    query = select(EPOCH.c.generation).where(EPOCH.c.id == 1)
    if lock and connection.dialect.name == "postgresql":
        connection.execute(_INSERT["postgresql"](EPOCH).values(id=1, generation=0)
                           .on_conflict_do_nothing())
        query = query.with_for_update()
    value = connection.execute(query).scalar()
    return int(value or 0)


def forget_before(session: Session | Connection, moment: datetime) -> None:
    """Tickets that started before `moment` were deleted: forget the days they lay in."""
    _bump(session)
    session.execute(delete(DAYS).where(DAYS.c.start_utc < moment))


def forget_days_of(session: Session | Connection, tickets: ColumnElement[bool]) -> None:
    """Tickets matching `tickets` are about to change or go: forget the days they lay in
    (at their own sites). Runs before the change (it finds the days through those tickets)."""
    _bump(session)
    session.execute(delete(DAYS).where(exists().where(
        tickets, and_(C.site_id == DAYS.c.site_id, C.created_at >= DAYS.c.start_utc,
                      C.created_at < DAYS.c.end_utc))))


def forget_all(session: Session | Connection) -> int:
    """Every kept day, of every site, in every zone (`flask reports forget`); how many."""
    _bump(session)
    return rowcount(session.execute(delete(DAYS)))


def _bump(session: Session | Connection) -> None:
    """The epoch + 1, first thing in a forgetter: on PostgreSQL the row lock then orders
    it with a report keeping days (keep locks the row too), so the DELETE that follows
    sees, and removes, whatever a report kept just before it."""
    bind = session.get_bind() if isinstance(session, Session) else session
    dialect = bind.dialect.name
    insert = _INSERT[dialect](EPOCH).values(id=1, generation=1)
    session.execute(insert.on_conflict_do_update(
        index_elements=[EPOCH.c.id], set_={"generation": EPOCH.c.generation + 1}))


def warm(period: Period) -> int:
    """Count and keep the period's final days now (`flask reports warm`); how many were new."""
    before = _count_kept(period)
    days(period, lambda _: None)
    return _count_kept(period) - before


def _count_kept(period: Period) -> int:
    with read_only() as connection:
        return len(kept(connection, period))


def forget_site(session: Session | Connection, site: int) -> None:
    """A site is being removed: its kept days go (other sites' stay as they are)."""
    _bump(session)
    session.execute(delete(DAYS).where(DAYS.c.site_id == site))
