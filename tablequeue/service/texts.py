"""Text messages through the outbox: each is a row written in the transaction of the change
it announces (tablequeue.ops.texts sends it). Without SMS_URL nothing here runs a query.

Three texts, to a visitor who asked for them ("Text me when it's my turn", at the kiosk or
on their phone; service/text_subscriptions.py): on asking (their number, the people ahead
and the follow link), when NOTIFY_AHEAD or fewer are ahead ("you're almost up"), when
called ("please go to table N"). Each is one GSM-7 part of at most 160 characters with the
site's name (cut to fit: service/gsm.py) and "Reply STOP to opt out"; none carries an
email, a name or anything of anyone else. A number that replied STOP gets none."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import ColumnElement, and_, insert, select, update
from sqlalchemy.engine import Connection

from tablequeue.envvars import SmsAccount
from tablequeue.models import (
    Outbound,
    Setting,
    Site,
    TextOptOut,
    TextSubscription,
    Ticket,
    TicketStatus,
    utcnow,
)
from tablequeue.outcomes import SiteId
from tablequeue.service import gsm, line_sql

OUTBOX, SUBSCRIPTIONS = Outbound.__table__, TextSubscription.__table__
OPT_OUTS, TICKETS = TextOptOut.__table__, Ticket.__table__
SETTINGS, SITES = Setting.__table__, Site.__table__
SENDER_KEY = "sms_from"  # a site's own sender number, in its settings (`flask sms sender`)
STOP_LINE = "Reply STOP to opt out"


def account() -> SmsAccount | None:
    """The Twilio account (SMS_URL); None: texts are off."""
    sms: SmsAccount | None = current_app.config.get("SMS")
    return sms


def sender_of(connection: Connection, site: SiteId) -> str | None:
    """The number the site's texts come from: its own, else SMS_URL's `from`."""
    sms = account()
    if sms is None:
        return None
    own = connection.execute(select(SETTINGS.c.value).where(
        SETTINGS.c.site_id == site, SETTINGS.c.key == SENDER_KEY)).scalar()
    return own or sms.sender


# ---- the words -------------------------------------------------------------------------


def _place(ahead: int) -> str:
    return "you're next" if ahead == 0 else f"{ahead} ahead of you"


def _named(name: str) -> str:
    return f"{name}: " if name else ""


def signin_text(site_name: str, ticket: int, ahead: int, link: str) -> str:
    return gsm.fit(site_name, lambda name: (
        f"{_named(name)}ticket {ticket}, {_place(ahead)}. Follow your place: {link} "
        f"{STOP_LINE}"))


def almost_text(site_name: str, ticket: int, ahead: int) -> str:
    return gsm.fit(site_name, lambda name: (
        f"{_named(name)}you're almost up, ticket {ticket}, {_place(ahead)}. "
        f"Please stay close. {STOP_LINE}"))


def called_text(site_name: str, ticket: int, table: int) -> str:
    return gsm.fit(site_name, lambda name: (
        f"{_named(name)}ticket {ticket}, please go to table {table} now. {STOP_LINE}"))


# ---- written in the command's transaction -----------------------------------------------


def site_name(connection: Connection, site: SiteId) -> str:
    name = connection.execute(select(SITES.c.name).where(SITES.c.id == site)).scalar()
    return name or current_app.config["SITE_NAME"]


def queue(connection: Connection, ticket_id: int, number: str, kind: str, body: str, *,
          site: SiteId) -> None:
    now = utcnow()
    connection.execute(insert(OUTBOX).values(
        site_id=site, ticket_id=ticket_id, channel="sms", kind=kind, recipient=number,
        body=body, state="pending", created_at=now, attempts=0, next_attempt_at=now))


def _not_stopped() -> ColumnElement[bool]:
    return SUBSCRIPTIONS.c.number.not_in(select(OPT_OUTS.c.number))


def on_line_moved(connection: Connection, *, site: SiteId) -> None:
    """"You're almost up" to each subscribed waiting ticket of the site that now has
    NOTIFY_AHEAD or fewer ahead in its line (under the order rule, as the mail counts:
    service/outbox.py) and was not told yet."""
    if account() is None:
        return
    subscribed = connection.execute(
        select(TICKETS.c.id, SUBSCRIPTIONS.c.number, TICKETS.c.line_id)
        .join_from(SUBSCRIPTIONS, TICKETS, SUBSCRIPTIONS.c.ticket_id == TICKETS.c.id)
        .where(and_(SUBSCRIPTIONS.c.almost_sent.is_(False), _not_stopped(),
                    TICKETS.c.site_id == site, TICKETS.c.status == TicketStatus.WAITING))
    ).all()
    if not subscribed:
        return
    places = line_sql.places(connection, lines={row.line_id for row in subscribed})
    limit = current_app.config["NOTIFY_AHEAD"]
    due = [(row.id, row.number, places[row.id]) for row in subscribed
           if row.id in places and places[row.id] <= limit]
    name = site_name(connection, site) if due else ""
    for ticket_id, number, count in due:
        connection.execute(update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.ticket_id == ticket_id)
                           .values(almost_sent=True))
        queue(connection, ticket_id, number, "almost", almost_text(name, ticket_id, count),
              site=site)


def on_claimed(connection: Connection, ticket_id: int, table: int, *, site: SiteId) -> None:
    """"Please go to table N" to the called visitor, and "almost up" to whoever the claim
    brought near the front."""
    if account() is None:
        return
    number = connection.execute(select(SUBSCRIPTIONS.c.number).where(
        SUBSCRIPTIONS.c.ticket_id == ticket_id, _not_stopped())).scalar()
    if number is not None:
        queue(connection, ticket_id, number, "called",
              called_text(site_name(connection, site), ticket_id, table), site=site)
    on_line_moved(connection, site=site)
