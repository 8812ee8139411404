"""The event log (issue 27): every change screens see, numbered per site in commit order,
written in the transaction of the change (tablequeue.service.eventlog)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from tablequeue.extensions import Model
from tablequeue.models.base import UTCDateTime


class EventCounter(Model):
    """PostgreSQL: a site's last number, bumped by an upsert as a transaction's last
    statement; its row lock, held to COMMIT, makes the numbers follow commit order without
    holes (a rollback undoes its bump). SQLite numbers from the log itself (its writers are
    one at a time) and keeps here only the floor: the last number of rows deleted (trimmed,
    forgotten, their site removed). No foreign key, on purpose: it outlives its site, so a
    site id that SQLite hands out again keeps counting up and no screen sees a number go
    back."""

    __tablename__ = "event_counters"

    site_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(BigInteger)


class EventLogRow(Model):
    """One transaction's events for one site (`body`: their JSON, a relay message's
    "events"), number `seq`; trimmed by age (EVENT_KEEP_MINUTES)."""

    __tablename__ = "event_log"
    __table_args__ = (Index("ix_event_log_at", "at"), {"sqlite_with_rowid": False})

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"),
                                         primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[str] = mapped_column(Text)
