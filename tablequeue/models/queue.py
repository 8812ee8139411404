"""Visitors, lines, tickets and what happens to them: transfers, tables, follow codes, settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tablequeue.extensions import Model
from tablequeue.models.base import TicketStatus, UTCDateTime, site_fk, utcnow
from tablequeue.models.people import Staff


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
