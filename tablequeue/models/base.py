"""Column types, the ticket states and the site key every per-site table shares."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    ForeignKey,
    TypeDecorator,
)
from sqlalchemy.orm import Mapped, mapped_column


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
    """The states of a ticket, stored as plain strings, and which of them are finished."""

    WAITING = "waiting"
    SERVING = "serving"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    LEFT = "left"  # the visitor left the line from their phone (tablequeue.service.follow)
    # A ticket its visitor left is finished like any other.
    FINISHED = (COMPLETED, CANCELLED, LEFT)


def site_fk() -> Mapped[int]:
    """The owning site; removing a site removes its rows (service.sites refuses while
    anyone waits or is served there)."""
    return mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
