"""Visitor data kept no longer than needed: the periodic purge and deleting one visitor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, exists, func, or_, select

from tablequeue.db import rowcount, unit_of_work
from tablequeue.models import FollowCode, Ticket, TicketStatus, Visitor, utcnow
from tablequeue.outcomes import SiteId
from tablequeue.service import eventlog
from tablequeue.service.reports import rollups

_ACTIVE = (TicketStatus.WAITING, TicketStatus.SERVING)


class PrivacyError(ValueError):
    """A deletion that cannot be done; the message says why, for people."""


@dataclass(frozen=True)
class Purged:
    tickets: int
    visitors: int


def purge(days: int) -> Purged:
    """Delete finished tickets that ended more than `days` ago, and visitors not seen since
    then who have no ticket left. Waiting and in-service tickets are never purged."""
    if days < 1:
        raise PrivacyError("keep at least one day of visitor data")
    cutoff = utcnow() - timedelta(days=days)
    with unit_of_work() as session:
        # Follow links die an hour after their ticket ends: their codes go at once. A
        # deleted ticket takes its codes and unsent mail with it (ON DELETE CASCADE).
        session.execute(
            delete(FollowCode).where(FollowCode.ticket_id.in_(
                select(Ticket.id).where(Ticket.status.not_in(_ACTIVE),
                                        Ticket.ended_at < utcnow() - timedelta(hours=1))))
            .execution_options(synchronize_session=False)
        )
        tickets = rowcount(session.execute(
            delete(Ticket).where(
                Ticket.status.not_in(_ACTIVE),
                or_(Ticket.ended_at < cutoff,
                    and_(Ticket.ended_at.is_(None), Ticket.created_at < cutoff)),
            ).execution_options(synchronize_session=False)
        ))
        if tickets:  # they all started before the cutoff: so did their days
            rollups.forget_before(session, cutoff)
        visitors = rowcount(session.execute(
            delete(Visitor).where(
                Visitor.updated_at < cutoff,
                ~exists().where(Ticket.visitor_id == Visitor.id),
            ).execution_options(synchronize_session=False)
        ))
    return Purged(tickets, visitors)


def delete_visitor(email: str) -> int:
    """Erase one visitor (matched case-insensitively) at every site, and every ticket they
    had; the number of tickets deleted. Refused while they wait or are being served at any
    site: finish that first. Their sites' event logs go too (names and emails are in
    them): a screen that asks those sites for missed events gets the state instead."""
    key = email.strip().lower()
    with unit_of_work() as session:
        found = session.execute(select(Visitor.id, Visitor.site_id)
                                .where(Visitor.email == key)).all()
        visitors = [visitor for visitor, _ in found]
        if not visitors:
            raise PrivacyError("no visitor has that email")
        theirs = Ticket.visitor_id.in_(visitors)
        active = session.scalar(
            select(func.count(Ticket.id)).where(theirs, Ticket.status.in_(_ACTIVE))
        )
        if active:
            raise PrivacyError("this visitor has a ticket waiting or in service: "
                               "complete or cancel it first")
        rollups.forget_days_of(session, theirs)
        count = rowcount(session.execute(
            delete(Ticket).where(theirs).execution_options(synchronize_session=False)
        ))
        session.execute(delete(Visitor).where(Visitor.id.in_(visitors))
                        .execution_options(synchronize_session=False))
        eventlog.forget(session, [SiteId(site) for _, site in found])
    return count
