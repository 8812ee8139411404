"""The queue's tables: typed SQLAlchemy 2.0 models, by job; invariants enforced by the
database. Everything is re-exported here, so `from tablequeue.models import Ticket` holds."""

from tablequeue.models.base import TicketStatus, UTCDateTime, site_fk, utcnow
from tablequeue.models.events import EventCounter, EventLogRow
from tablequeue.models.outbox import (
    Outbound,
    OutboxMail,
    TextOptOut,
    TextSubscription,
    WebhookEndpoint,
)
from tablequeue.models.people import DeviceKey, PendingSignIn, Site, Staff, StaffSession, StaffSite
from tablequeue.models.queue import (
    FollowCode,
    Line,
    Setting,
    StaffLine,
    TableAssignment,
    Ticket,
    Transfer,
    Visitor,
)
from tablequeue.models.reports import ReportDay, ReportEpoch

__all__ = [
    "DeviceKey",
    "EventCounter",
    "EventLogRow",
    "FollowCode",
    "Line",
    "Outbound",
    "OutboxMail",
    "PendingSignIn",
    "ReportDay",
    "ReportEpoch",
    "Setting",
    "Site",
    "Staff",
    "StaffLine",
    "StaffSession",
    "StaffSite",
    "TableAssignment",
    "TextOptOut",
    "TextSubscription",
    "Ticket",
    "TicketStatus",
    "Transfer",
    "UTCDateTime",
    "Visitor",
    "WebhookEndpoint",
    "site_fk",
    "utcnow",
]
