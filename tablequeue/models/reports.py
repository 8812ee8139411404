"""The rolled-up report days and the epoch that says which are current."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from tablequeue.extensions import Model
from tablequeue.models.base import UTCDateTime


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
