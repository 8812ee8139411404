"""Stepping away (`away` / `back`): the table stays the staff member's while they are gone,
displays that `watch` show it as "Back soon", and `accept` waits until they are back.
Whoever stays away longer than AWAY_MINUTES loses the table as if they had sent `unpick`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tablequeue.db import rowcount, unit_of_work
from tablequeue.models import TableAssignment, utcnow
from tablequeue.outcomes import (
    Event,
    Outcome,
    Refusal,
    SiteId,
    TableAway,
    TableUnpicked,
    refused,
)
from tablequeue.service.eventlog import seal
from tablequeue.service.identity import staff_for_token
from tablequeue.service.views import table_of, tables_changed


def away(token_hash: str | None, *, site: SiteId) -> Outcome[int]:
    return _set_away(token_hash, True, site)


def back(token_hash: str | None, *, site: SiteId) -> Outcome[int]:
    return _set_away(token_hash, False, site)


def _set_away(token_hash: str | None, going: bool, site: SiteId) -> Outcome[int]:
    """Saying it twice succeeds and changes nothing; only a real change is announced."""
    with unit_of_work() as session:
        staff = staff_for_token(session, token_hash)
        table = table_of(session, staff.id, site=site) if staff else None
        if staff is None or table is None:
            return refused(Refusal.NO_TABLE)
        since = TableAssignment.away_since
        was = since.is_(None) if going else since.is_not(None)
        changed = rowcount(session.execute(
            update(TableAssignment).where(TableAssignment.staff_id == staff.id,
                                          TableAssignment.site_id == site, was)
            .values(away_since=utcnow() if going else None)
        ))
        return Outcome(table, seal(session, [TableAway(table, going, site=site)] if changed
                                   else []))


def away_tables(session: Session, *, site: SiteId) -> list[int]:
    """The site's tables whose staff member stepped away, ascending."""
    return list(session.scalars(
        select(TableAssignment.table_number)
        .where(TableAssignment.site_id == site, TableAssignment.away_since.is_not(None))
        .order_by(TableAssignment.table_number)
    ))


def is_away(staff_id: int, *, site: SiteId) -> bool:
    """Whether the staff member stepped away from the table they hold at this site."""
    with unit_of_work() as session:
        return session.scalar(select(TableAssignment.away_since).where(
            TableAssignment.staff_id == staff_id, TableAssignment.site_id == site)) is not None


def current_away_tables(*, site: SiteId) -> list[int]:
    with unit_of_work() as session:
        return away_tables(session, site=site)


def release_overdue(minutes: int) -> list[Event]:
    """Free every table whose staff member has been away longer than `minutes`, as `unpick`
    would, at every site. Every worker runs this sweep; the conditional DELETE lets exactly
    one of them free each table and publish its events (the others delete nothing)."""
    cutoff = utcnow() - timedelta(minutes=minutes)
    with unit_of_work() as session:
        oldest = session.scalar(select(func.min(TableAssignment.away_since)))
        if oldest is None or oldest > cutoff:
            return []  # the common case: one read, no write
        overdue = session.execute(
            select(TableAssignment.site_id, TableAssignment.table_number,
                   TableAssignment.staff_id)
            .where(TableAssignment.away_since <= cutoff)
        ).all()
        events: list[Event] = []
        freed: set[SiteId] = set()
        for site, table, staff_id in overdue:
            # Still theirs and still overdue now (not back, not moved): else nothing.
            gone = rowcount(session.execute(delete(TableAssignment).where(
                TableAssignment.site_id == site, TableAssignment.table_number == table,
                TableAssignment.staff_id == staff_id, TableAssignment.away_since <= cutoff,
            )))
            if gone:
                events.append(TableUnpicked(table, site=SiteId(site)))
                freed.add(SiteId(site))
        events.extend(tables_changed(session, site=site) for site in sorted(freed))
        return seal(session, events)
