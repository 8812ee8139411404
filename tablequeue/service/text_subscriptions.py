"""Who gets texts: a visitor opts in with their ticket's follow code (the kiosk right
after sign-in, or their phone), STOP opts a number out for good, Twilio's delivery
statuses are written on the outbox row, a site may have its own sender number.

The follow code is the visitor's proof of holding the ticket, as it is for the phone
page: only the holder of a link can give its ticket a number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tablequeue.db import transaction
from tablequeue.models import FollowCode, TicketStatus, utcnow
from tablequeue.outcomes import SiteId
from tablequeue.service import line_sql, phones, texts
from tablequeue.service.follow import code_hash
from tablequeue.service.follow_links import link_url

CODES = FollowCode.__table__
OUTBOX, SUBSCRIPTIONS, OPT_OUTS = texts.OUTBOX, texts.SUBSCRIPTIONS, texts.OPT_OUTS
TICKETS, SETTINGS = texts.TICKETS, texts.SETTINGS
# Twilio's opt-out words (Advanced Opt-Out's defaults); Twilio answers them itself.
STOP_WORDS = frozenset({"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                        "OPTOUT", "REVOKE"})
# Twilio's message statuses, in the order they can happen: a late callback never undoes
# a later one.
_ORDER = ("accepted", "scheduled", "queued", "sending", "sent", "failed", "undelivered",
          "delivered", "read")


class TextError(ValueError):
    """Why texts cannot be set up for this ticket; the message is for the visitor."""


def _ticket_of(connection: Connection, code: str) -> tuple[int, str, SiteId, int]:
    """The code's ticket: id, status, site and line."""
    hashed = code_hash(code)
    row = connection.execute(
        select(TICKETS.c.id, TICKETS.c.status, TICKETS.c.site_id, TICKETS.c.line_id)
        .join_from(CODES, TICKETS, CODES.c.ticket_id == TICKETS.c.id)
        .where(CODES.c.code_hash == hashed)).first() if hashed else None
    if row is None:
        raise TextError("this link is no longer valid")
    return row.id, row.status, SiteId(row.site_id), row.line_id


def subscribe(code: str, typed: str) -> str:
    """Texts for the code's waiting ticket to the typed number (replacing an earlier one);
    the first text (number, place, follow link) is queued in the same transaction. The
    number shown masked; PhoneError or TextError when it cannot be."""
    if texts.account() is None:
        raise TextError("text messages are not available here")
    number = phones.normalise(typed, current_app.config["SMS_REGION"])
    with transaction() as connection:
        ticket_id, status, site, line = _ticket_of(connection, code)
        if status != TicketStatus.WAITING:
            raise TextError("your ticket is not waiting any more")
        if texts.sender_of(connection, site) is None:
            raise TextError("text messages are not available here")
        ahead = line_sql.ahead_of(connection, ticket_id, line)  # in its line, by the rule
        connection.execute(delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.ticket_id == ticket_id))
        connection.execute(insert(SUBSCRIPTIONS).values(
            ticket_id=ticket_id, number=number, created_at=utcnow(),
            almost_sent=ahead <= current_app.config["NOTIFY_AHEAD"]))
        # A number that said STOP is taken and never texted; saying so would tell anyone
        # at the kiosk that its owner once used this office.
        if not connection.execute(select(OPT_OUTS.c.number)
                                  .where(OPT_OUTS.c.number == number)).first():
            link = link_url("", code)
            texts.queue(connection, ticket_id, number, "signin", texts.signin_text(
                texts.site_name(connection, site), ticket_id, ahead, link), site=site)
    return phones.mask(number)


def unsubscribe(code: str) -> None:
    """No more texts about this ticket (the phone page's "Stop texting me")."""
    with transaction() as connection:
        ticket_id, _, _, _ = _ticket_of(connection, code)
        connection.execute(delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.ticket_id == ticket_id))
        connection.execute(update(OUTBOX).where(
            OUTBOX.c.ticket_id == ticket_id, OUTBOX.c.channel == "sms",
            OUTBOX.c.state == "pending").values(state="stopped", recipient=None))


def on_phone(code: str) -> tuple[bool, str | None]:
    """For the phone page: (texts can be asked for, the masked number they go to)."""
    hashed = code_hash(code)
    if hashed is None or texts.account() is None:
        return False, None
    with transaction() as connection:
        row = connection.execute(
            select(TICKETS.c.status, TICKETS.c.site_id, SUBSCRIPTIONS.c.number)
            .join_from(CODES, TICKETS, CODES.c.ticket_id == TICKETS.c.id)
            .outerjoin(SUBSCRIPTIONS, SUBSCRIPTIONS.c.ticket_id == TICKETS.c.id)
            .where(CODES.c.code_hash == hashed)).first()
        if row is None or texts.sender_of(connection, SiteId(row.site_id)) is None:
            return False, None
    return row.status == TicketStatus.WAITING, phones.mask(row.number) if row.number else None


def opt_out(number: str) -> None:
    """STOP: never text this number again, from any site. Its unsent texts are dropped
    and no ticket keeps it."""
    with transaction() as connection:
        connection.execute(update(OUTBOX).where(
            OUTBOX.c.recipient == number, OUTBOX.c.channel == "sms",
            OUTBOX.c.state == "pending").values(state="stopped", recipient=None))
        connection.execute(delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.number == number))
    try:
        with transaction() as connection:
            connection.execute(insert(OPT_OUTS).values(number=number, created_at=utcnow()))
    except IntegrityError:
        pass  # said STOP before (or at the same moment, through another worker)


def is_stop(body: str) -> bool:
    return " ".join(body.upper().replace(".", " ").replace("!", " ").split()) in STOP_WORDS


def record_status(row_id: int, status: str, error: str | None) -> bool:
    """Twilio's word on a text we sent, on its outbox row; False for no such text."""
    status = status.strip().lower()[:24]
    rank = _ORDER.index(status) if status in _ORDER else -1
    with transaction() as connection:
        current = connection.execute(select(OUTBOX.c.provider_status).where(
            OUTBOX.c.id == row_id, OUTBOX.c.channel == "sms")).first()
        if current is None:
            return False
        if rank >= (_ORDER.index(current[0]) if current[0] in _ORDER else -1):
            values: dict[str, object] = {"provider_status": status}
            if error:
                values["last_error"] = f"Twilio error {error}"[:300]
            connection.execute(update(OUTBOX).where(OUTBOX.c.id == row_id).values(**values))
    return True


# ---- a site's sender and what its admins see --------------------------------------------


def set_sender(number: str | None, *, site: SiteId) -> None:
    """The site's own sender number (E.164), or None: SMS_URL's `from`."""
    with transaction() as connection:
        connection.execute(delete(SETTINGS).where(SETTINGS.c.site_id == site,
                                                  SETTINGS.c.key == texts.SENDER_KEY))
        if number:
            connection.execute(insert(SETTINGS).values(site_id=site, key=texts.SENDER_KEY,
                                                       value=number))


def sender(*, site: SiteId) -> str | None:
    with transaction() as connection:
        return texts.sender_of(connection, site)


@dataclass(frozen=True)
class SentText:
    """A text as its site's admins see it: the number masked, never the whole of it."""

    id: int
    ticket: int
    kind: str
    to: str
    state: str
    provider_status: str | None
    error: str | None
    created_at: datetime


def recent(limit: int = 20, *, site: SiteId) -> list[SentText]:
    """The site's latest texts. A sent text keeps no number: its ticket's subscription,
    while the ticket is kept, gives the masked one."""
    with transaction() as connection:
        rows = connection.execute(
            select(OUTBOX.c.id, OUTBOX.c.ticket_id, OUTBOX.c.kind, OUTBOX.c.recipient,
                   SUBSCRIPTIONS.c.number, OUTBOX.c.state, OUTBOX.c.provider_status,
                   OUTBOX.c.last_error, OUTBOX.c.created_at)
            .outerjoin(SUBSCRIPTIONS, SUBSCRIPTIONS.c.ticket_id == OUTBOX.c.ticket_id)
            .where(OUTBOX.c.site_id == site, OUTBOX.c.channel == "sms")
            .order_by(OUTBOX.c.id.desc()).limit(limit)).all()
    return [SentText(r.id, r.ticket_id, r.kind, phones.mask(r.recipient or r.number or ""),
                     r.state, r.provider_status, r.last_error, r.created_at) for r in rows]
