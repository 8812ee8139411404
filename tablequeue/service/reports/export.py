"""The CSV export: one row per ticket of the site that started in the period, oldest first,
streamed. The `site` column names the site (its slug), so files of several sites can be
put together; after it come the service line the ticket ended in, its priority reason
(empty for a normal ticket) and the line of its latest transfer (empty if never
transferred). New columns go last, so that spreadsheets made earlier keep theirs.

Rows come through a server-side cursor (PostgreSQL; SQLite's cursor steps through its
result as it is read) in batches of YIELD_PER and leave as ~64 KB chunks, so memory stays
flat whatever the period. UTF-8 with a byte-order mark, the one way Excel recognises
UTF-8; LibreOffice reads it as well. A visitor types their own name: any text cell that a
spreadsheet would take for a formula gets a leading apostrophe."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tablequeue.db import read_only
from tablequeue.models import Line, Site, Staff
from tablequeue.service.reports import sql
from tablequeue.service.reports.period import Period

COLUMNS = ("id", "start", "claimed", "end", "outcome", "wait_minutes", "service_minutes",
           "staff", "table", "name", "email", "site", "line", "priority", "transferred_from")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
YIELD_PER = 1000
CHUNK = 64 * 1024
C = sql.C
_STAFF, _SITES = Staff.__table__, Site.__table__
_LINE, _FROM = Line.__table__.alias("line"), Line.__table__.alias("transferred_from")


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet would evaluate (=, +, -, @, tab, CR first) starts with '."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).isoformat()


def _minutes(later: datetime | None, earlier: datetime | None) -> str:
    """Whole seconds to minutes with one decimal, half up: the rounding the page uses."""
    if later is None or earlier is None:
        return ""
    tenths = (int((later - earlier).total_seconds()) + 3) // 6
    return f"{tenths // 10}.{tenths % 10}"


def row(ticket: Any, zone: ZoneInfo, site: str) -> list[str]:
    return [
        str(ticket.id), _when(ticket.created_at, zone), _when(ticket.claimed_at, zone),
        _when(ticket.ended_at, zone), ticket.outcome,
        _minutes(ticket.claimed_at, ticket.created_at),
        _minutes(ticket.ended_at, ticket.claimed_at),
        neutralise(ticket.username or ""),
        "" if ticket.table_number is None else str(ticket.table_number),
        neutralise(ticket.name), neutralise(ticket.email), site,
        neutralise(ticket.line or ""), neutralise(ticket.priority or ""),
        neutralise(ticket.moved_from or ""),
    ]


class _Line:
    """csv.writer's file: hands back what it was given instead of storing it."""

    def write(self, text: str) -> str:
        return text


def lines(period: Period) -> Iterator[str]:
    """The file: BOM and header, then the tickets, in chunks of about CHUNK characters."""
    writer = csv.writer(_Line())
    query = (
        select(C.id, C.created_at, C.claimed_at, C.ended_at, sql.OUTCOME.label("outcome"),
               _STAFF.c.username, C.table_number, C.name, C.email, _LINE.c.name.label("line"),
               C.priority_reason.label("priority"), _FROM.c.name.label("moved_from"))
        .select_from(sql.TICKETS.outerjoin(_STAFF, _STAFF.c.id == C.staff_id)
                     .outerjoin(_LINE, _LINE.c.id == C.line_id)
                     .outerjoin(_FROM, _FROM.c.id == C.transferred_from))
        .where(sql.in_period(period)).order_by(C.created_at, C.id)
    )
    buffer = ["\ufeff", writer.writerow(COLUMNS)]
    size = 0
    with read_only() as connection:
        slug = connection.execute(
            select(_SITES.c.slug).where(_SITES.c.id == period.site)).scalar() or ""
        streaming = connection.execution_options(stream_results=True, yield_per=YIELD_PER)
        result = streaming.execute(query)
        for ticket in result:
            text = writer.writerow(row(ticket, period.zone, slug))
            buffer.append(text)
            size += len(text)
            if size >= CHUNK:
                yield "".join(buffer)
                buffer, size = [], 0
    yield "".join(buffer)
