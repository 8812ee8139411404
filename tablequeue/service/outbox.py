"""The mail outbox: each message is a row written in the transaction of the change it
announces, so it exists exactly when the change does (tablequeue.ops.mail sends and deletes
it). Without SMTP_URL and MAIL_FROM nothing is written and nothing here runs a query.

Three messages, for a visitor who ticked "Email me when it's my turn": on sign-in (number
and follow link), when NOTIFY_AHEAD people are ahead ("you're almost up"), when called
("Go to table N")."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template
from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from tablequeue.models import FollowCode, OutboxMail, Site, Ticket, TicketStatus, utcnow
from tablequeue.outcomes import SiteId
from tablequeue.service import line_sql

TICKETS, CODES, OUTBOX = Ticket.__table__, FollowCode.__table__, OutboxMail.__table__
_LINE_OF = select(TICKETS.c.line_id).where(TICKETS.c.id == bindparam("ticket"))
_SITE_NAME = select(Site.__table__.c.name).where(Site.__table__.c.id == bindparam("site"))
_EMAIL_OF = (
    select(TICKETS.c.email).join_from(CODES, TICKETS, CODES.c.ticket_id == TICKETS.c.id)
    .where(CODES.c.ticket_id == bindparam("ticket"), CODES.c.email_me.is_(True))
)


def enabled() -> bool:
    config = current_app.config
    return bool(config.get("SMTP_URL") and config.get("MAIL_FROM"))


@dataclass(frozen=True)
class Mail:
    kind: str
    subject: str
    text: str
    html: str


def _site_name(connection: Connection, site: SiteId) -> str:
    """The site's name, as its visitors know the office (SITE_NAME if it is gone)."""
    name = connection.execute(_SITE_NAME, {"site": site}).scalar()
    return name or current_app.config["SITE_NAME"]


def _render(kind: str, subject: str, **values: object) -> Mail:
    values = {"site": current_app.config["SITE_NAME"], **values}
    return Mail(kind, subject, render_template(f"mail/{kind}.txt", **values),
                render_template(f"mail/{kind}.html", **values))


def _queue(connection: Connection, ticket_id: int, recipient: str, mail: Mail) -> None:
    now = utcnow()
    connection.execute(insert(OUTBOX).values(
        ticket_id=ticket_id, kind=mail.kind, recipient=recipient, subject=mail.subject,
        body_text=mail.text, body_html=mail.html, created_at=now, attempts=0,
        next_attempt_at=now))


def on_sign_in(connection: Connection, ticket_id: int, link: str, *, site: SiteId) -> None:
    """Number and follow link. A visitor already within NOTIFY_AHEAD of the front is told
    so now and gets no separate "almost up" later."""
    if not enabled():
        return
    email = connection.execute(_EMAIL_OF, {"ticket": ticket_id}).scalar()
    if email is None:
        return
    line = connection.execute(_LINE_OF, {"ticket": ticket_id}).scalar_one()
    ahead = line_sql.ahead_of(connection, ticket_id, line)
    if ahead <= current_app.config["NOTIFY_AHEAD"]:
        connection.execute(update(CODES).where(CODES.c.ticket_id == ticket_id)
                           .values(almost_sent=True))
    name = _site_name(connection, site)
    _queue(connection, ticket_id, email, _render(
        "signin", f"Your ticket {ticket_id} at {name}", ticket=ticket_id, link=link,
        ahead=ahead, site=name))


def on_line_moved(connection: Connection, *, site: SiteId) -> None:
    """"You're almost up" for each subscribed waiting ticket of the site that now has
    NOTIFY_AHEAD or fewer ahead in its line (under the order rule) and was not told yet
    (a claim, a departure or a priority ticket moved the line)."""
    if not enabled():
        return
    limit = current_app.config["NOTIFY_AHEAD"]
    subscribed = connection.execute(
        select(TICKETS.c.id, TICKETS.c.email, TICKETS.c.line_id)
        .join_from(CODES, TICKETS, CODES.c.ticket_id == TICKETS.c.id)
        .where(and_(CODES.c.email_me.is_(True), CODES.c.almost_sent.is_(False),
                    TICKETS.c.site_id == site, TICKETS.c.status == TicketStatus.WAITING))
    ).all()
    if not subscribed:
        return
    places = line_sql.places(connection, lines={row.line_id for row in subscribed})
    due = [(row.id, row.email, places[row.id]) for row in subscribed
           if row.id in places and places[row.id] <= limit]
    name = _site_name(connection, site) if due else ""
    for ticket_id, email, count in due:
        connection.execute(update(CODES).where(CODES.c.ticket_id == ticket_id)
                           .values(almost_sent=True))
        _queue(connection, ticket_id, email, _render(
            "almost", f"You're almost up (ticket {ticket_id})", ticket=ticket_id,
            ahead=count, site=name))


def on_claimed(connection: Connection, ticket_id: int, table: int, *, site: SiteId) -> None:
    """In the claim's transaction: "Go to table N" to the called visitor, and "almost up"
    to whoever the claim brought near the front."""
    if not enabled():
        return
    email = connection.execute(_EMAIL_OF, {"ticket": ticket_id}).scalar()
    if email is not None:
        _queue(connection, ticket_id, email, _render(
            "called", f"Go to table {table} (ticket {ticket_id})", ticket=ticket_id,
            table=table, site=_site_name(connection, site)))
    on_line_moved(connection, site=site)
