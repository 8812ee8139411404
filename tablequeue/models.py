"""The queue's tables: typed SQLAlchemy 2.0 models; invariants enforced by the database."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    or_,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tablequeue.extensions import Model


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite would otherwise hand back naive ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TicketStatus:
    """The four states of a ticket, stored as plain strings."""

    WAITING = "waiting"
    SERVING = "serving"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    LEFT = "left"  # the visitor left the line from their phone (tablequeue.service.follow)


class Site(Model):
    """One office of the deployment: its own tables, kiosk, display, staff, hours and reports.
    The slug is its URL (`/s/<slug>/…`) and never changes; rows of every per-site table
    carry site_id. The default site (DEFAULT_SITE) also answers today's unprefixed URLs."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    tables: Mapped[int] = mapped_column()  # numbered 0..tables-1
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name: hours and reports
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def site_fk() -> Mapped[int]:
    """The owning site; removing a site removes its rows (service.sites refuses while
    anyone waits or is served there)."""
    return mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))


class Staff(Model):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Signing in through the OpenID Connect provider (tablequeue.service.oidc, migration
    # 0007_oidc): the first sign-in matches `email` (lower-cased) and links the provider's
    # `sub`, which finds the account from then on. An account without a password has "" as
    # its password_hash. group_admin: admin through OIDC_ADMIN_GROUP, as of the last sign-in.
    email: Mapped[str | None] = mapped_column(String(254), index=True, unique=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), index=True, unique=True)
    group_admin: Mapped[bool] = mapped_column(default=False, server_default=false())

    @hybrid_property
    def admin_everywhere(self) -> bool:
        """Admin (and member) of every site: made so by the CLI or /admin (is_admin), or by
        OIDC_ADMIN_GROUP at the last sign-in. The one test of it, in Python and in SQL."""
        return self.is_admin or self.group_admin

    @admin_everywhere.inplace.expression
    @classmethod
    def _admin_everywhere_sql(cls) -> ColumnElement[bool]:
        return or_(cls.is_admin, cls.group_admin)


class PendingSignIn(Model):
    """A sign-in sent to the provider and not yet back: its `state` (only the SHA-256), so
    that each callback is taken once, by whichever worker it reaches."""

    __tablename__ = "pending_sign_ins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StaffSite(Model):
    """A staff account's membership of a site; is_admin: admin of that site only.
    (Staff.admin_everywhere is admin of every site, and member of each, without rows here.)"""

    __tablename__ = "staff_sites"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=false())


class StaffSession(Model):
    """A login: the token itself is never stored, only its SHA-256."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship()


class Visitor(Model):
    """One row per site and email (stored lower-cased), remembering the latest name given
    there: a kiosk never learns what a visitor said at another site."""

    __tablename__ = "visitors"
    __table_args__ = (UniqueConstraint("site_id", "email", name="uq_visitors_site_email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = site_fk()
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Ticked "Email me when it's my turn" last time: the kiosk ticks it again for them.
    wants_email: Mapped[bool] = mapped_column(default=False, server_default=false())


class Line(Model):
    """One service of a site ("Financial aid"): the kiosk's choice, what staff serve, what
    priority and passing are counted in (docs/lines.md). A removed line stays (removed_at)
    only so reports still name it; every screen and command ignores it."""

    __tablename__ = "lines"
    __table_args__ = (
        Index("uq_lines_site_name", "site_id", "name", unique=True,
              sqlite_where=text("removed_at IS NULL"),
              postgresql_where=text("removed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = site_fk()
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)  # the site's order of its lines
    open: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffLine(Model):
    """A line a staff member chose to serve at its site; no row at a site: every line."""

    __tablename__ = "staff_lines"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    line_id: Mapped[int] = mapped_column(
        ForeignKey("lines.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = site_fk()


class Ticket(Model):
    __tablename__ = "tickets"
    __table_args__ = (
        # One ticket in service per staff member, whatever the concurrency.
        Index(
            "uq_tickets_one_serving_per_staff",
            "staff_id",
            unique=True,
            sqlite_where=text("status = 'serving'"),
            postgresql_where=text("status = 'serving'"),
        ),
        Index("ix_tickets_site_status_id", "site_id", "status", "id"),
        # Reports (migrations 0004_reports, 0006_sites): a period is a site's range of start
        # times, and the index carries what reports read (index-only scans); returning
        # visitors look up a visitor's earlier tickets.
        Index("ix_tickets_report", "site_id", "created_at", "status", "claimed_at", "ended_at",
              "staff_id", "table_number", "visitor_id"),
        Index("ix_tickets_visitor_created", "visitor_id", "created_at"),
        Index("ix_tickets_line_status_id", "line_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # one sequence for the deployment
    site_id: Mapped[int] = site_fk()  # the site whose kiosk made it
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id", ondelete="CASCADE"))
    # The email and name exactly as given at the kiosk for this visit.
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.WAITING)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    table_number: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How often its staff member put it back in line (`requeue`); capped, see service.floor.
    # Put-backs and transfers together (docs/lines.md): capped, see outcomes.REQUEUE_LIMIT.
    requeue_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Service lines (docs/lines.md): the line it waits in; a priority mark (staff only);
    # how many later priority tickets of its line were taken while it waited (the order
    # rule, service/order.py); the line of its latest transfer.
    line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"))
    priority_reason: Mapped[str | None] = mapped_column(String(60))
    passed: Mapped[int] = mapped_column(default=0, server_default="0")
    transferred_from: Mapped[int | None] = mapped_column(
        ForeignKey("lines.id", ondelete="SET NULL"))

    staff: Mapped[Staff | None] = relationship()


class Transfer(Model):
    """A ticket sent from one line to another by the staff member serving it: the first
    line's service, kept for reports (it counts as served there)."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = site_fk()
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    from_line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"))
    to_line_id: Mapped[int] = mapped_column(ForeignKey("lines.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    table_number: Mapped[int | None]
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transferred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class TableAssignment(Model):
    """Who holds which table of which site: the primary key and the unique staff_id make it
    one-to-one, across sites too (a staff member holds at most one table in all)."""

    __tablename__ = "table_assignments"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    table_number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), unique=True
    )
    picked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set while the staff member has stepped away (`away`): the table stays theirs.
    away_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship()


class DeviceKey(Model):
    """A kiosk's or display's key (see DEVICE_KEYS); like tokens, only its SHA-256 is kept."""

    __tablename__ = "device_keys"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_device_keys_site_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = site_fk()  # a key opens its own site's screens only
    kind: Mapped[str] = mapped_column(String(16))  # "kiosk" or "display"
    name: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Setting(Model):
    """A site's setting changed at runtime (announcement, hours, line switch). The number of
    tables and the time zone are columns of Site."""

    __tablename__ = "settings"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(1024))


class FollowCode(Model):
    """A ticket's follow link /v/<code>: only the code's SHA-256 is kept, like tokens."""

    __tablename__ = "follow_codes"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email_me: Mapped[bool] = mapped_column(default=False)  # mail when almost up and when called
    almost_sent: Mapped[bool] = mapped_column(default=False)  # "you're almost up" went out
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class ReportDay(Model):
    """A finished local day's report figures (tablequeue.service.reports.rollups), kept so a
    report does not recount a year of tickets that can no longer change. Keyed by zone: a
    day is another span of tickets in another TIMEZONE. start_utc/end_utc are the day's
    span, so deleting tickets can forget exactly the days they belonged to, in every zone."""

    __tablename__ = "report_days"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    start_utc: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_utc: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[str] = mapped_column(Text)  # JSON, see rollups.encode


class ReportEpoch(Model):
    """One row: bumped by whatever forgets report days. A report writes the days it counted
    only if the number is still the one it read with its snapshot (a purge committed in
    between would otherwise leave days counted with the purged tickets)."""

    __tablename__ = "report_epoch"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(default=0)
