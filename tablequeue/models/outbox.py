"""What leaves the building: mail, texts and webhooks, each written in the transaction
of the change that causes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tablequeue.extensions import Model
from tablequeue.models.base import UTCDateTime, site_fk, utcnow


class OutboxMail(Model):
    """A message to send, written in the transaction that made it due; deleted once sent
    (tablequeue.ops.mail): a restart loses none, and a claim makes each go out once."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # signin, almost, called
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender that claimed the row owns it until then (a crashed sender's claim lapses).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))


class TextSubscription(Model):
    """A visitor asked for texts about this ticket ("Text me when it's my turn", at the
    kiosk or on their phone): the number, in E.164, goes with the ticket (purge, delete)."""

    __tablename__ = "sms_subscriptions"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    number: Mapped[str] = mapped_column(String(16), index=True)
    almost_sent: Mapped[bool] = mapped_column(default=False)  # "you're almost up" is queued
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TextOptOut(Model):
    """A number that replied STOP: never texted again, by any site (kept for that alone)."""

    __tablename__ = "sms_opt_outs"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(Model):
    """Where a site's ticket events are POSTed, signed with its own secret (Standard
    Webhooks); `personal` endpoints also get the visitor's email and name."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = site_fk()
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[str] = mapped_column(String(200))  # comma-separated: ticket.created, ...
    personal: Mapped[bool] = mapped_column(default=False)
    secret: Mapped[str] = mapped_column(String(100))  # whsec_…: it signs, so it is kept
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outbound(Model):
    """A text message or a webhook delivery, written in the transaction that made it due
    and sent by the workers' senders (tablequeue.ops.texts, tablequeue.ops.hooks): a claim
    (claimed_until) makes one sender own it; a restart loses none. A text stays, without
    its number, to record Twilio's delivery status; a delivered webhook goes."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "channel", "state", "next_attempt_at"),
        Index("ix_outbox_order", "endpoint_id", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = site_fk()
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                           index=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms or webhook
    kind: Mapped[str] = mapped_column(String(24))  # signin, almost, called; ticket.created...
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    recipient: Mapped[str | None] = mapped_column(String(16))  # a text's number, until sent
    body: Mapped[str] = mapped_column(Text)  # the text, or the webhook's JSON
    message_id: Mapped[str | None] = mapped_column(String(64))  # webhook-id; Twilio's SID
    state: Mapped[str] = mapped_column(String(12), default="pending")  # sent, failed, stopped
    provider_status: Mapped[str | None] = mapped_column(String(24))  # Twilio's callbacks
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
