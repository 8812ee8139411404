"""The ticket path's SQL as Core statements built once at import, with bound parameters:
each statement's cache key is computed once and its compiled form reused, so a command
costs a few driver calls instead of the ORM's loading, flushing and refreshing. Every
statement names its site: another site's ticket or visitor is one that does not exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    Row,
    bindparam,
    cast,
    insert,
    literal,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert, Update

from tablequeue.models import Setting, Site, Ticket, TicketStatus, Visitor
from tablequeue.outcomes import SiteId, TicketView
from tablequeue.service import floor
from tablequeue.service.identity import DESK
from tablequeue.service.line_sql import LINES, LineRow

TICKETS, VISITORS = Ticket.__table__, Visitor.__table__
# What a TicketView needs beyond what the command already knows.
VIEW = (TICKETS.c.id, TICKETS.c.email, TICKETS.c.name, TICKETS.c.created_at, TICKETS.c.ended_at,
        TICKETS.c.line_id, TICKETS.c.priority_reason)

# Bound parameter names differ from column names: SQLAlchemy reserves those in SET/VALUES.
_CLAIM = (
    update(TICKETS)
    .where(TICKETS.c.id == bindparam("ticket"), TICKETS.c.site_id == bindparam("site"),
           TICKETS.c.status == TicketStatus.WAITING)
    .values(status=TicketStatus.SERVING, staff_id=bindparam("staff"),
            table_number=bindparam("table"), claimed_at=bindparam("now"))
)
_END = (
    update(TICKETS)
    .where(TICKETS.c.id == bindparam("ticket"), TICKETS.c.site_id == bindparam("site"),
           TICKETS.c.status == TicketStatus.SERVING, TICKETS.c.staff_id == bindparam("staff"))
    .values(status=bindparam("ended_as"), ended_at=bindparam("now"))
)
_CLAIM_RETURNING, _END_RETURNING = _CLAIM.returning(*VIEW), _END.returning(*VIEW)
_THIS = (TICKETS.c.id == bindparam("ticket"), TICKETS.c.site_id == bindparam("site"))
_VIEW_OF = select(*VIEW).where(*_THIS)
_STATE = select(TICKETS.c.status, TICKETS.c.staff_id).where(*_THIS)
_NEW_TICKET = insert(TICKETS).values(
    site_id=bindparam("site"), visitor_id=bindparam("visitor"), email=bindparam("email_given"),
    name=bindparam("name_given"), status=TicketStatus.WAITING, created_at=bindparam("now"),
    line_id=bindparam("line"), passed=0,
)
_VISITOR_ID = select(VISITORS.c.id).where(VISITORS.c.site_id == bindparam("site"),
                                          VISITORS.c.email == bindparam("key"))


def _upsert(dialect_insert: Callable[[Any], Any]) -> Insert:
    """Insert the visitor or, if the email is known, take the new name: one statement that
    also settles two kiosks registering one email at once (no savepoint, no retry). A
    visitor is one per site and email: a name given at one site is never shown at another."""
    stmt = dialect_insert(VISITORS).values(
        site_id=bindparam("site"), email=bindparam("key"), name=bindparam("name_given"),
        updated_at=bindparam("now"),
    )
    return stmt.on_conflict_do_update(
        index_elements=[VISITORS.c.site_id, VISITORS.c.email],
        set_={"name": stmt.excluded["name"], "updated_at": stmt.excluded["updated_at"]},
    )


_REMEMBER = {"sqlite": _upsert(sqlite.insert), "postgresql": _upsert(postgresql.insert)}
_REMEMBER_RETURNING = {name: stmt.returning(VISITORS.c.id) for name, stmt in _REMEMBER.items()}

# ---- accept and complete at the token's desk: the desk read folded into the UPDATE ----
# One statement finds the token's desk (identity.DESK) and changes the ticket only if the
# desk allows it, so a winning claim or an end is one round trip, not two (PostgreSQL:
# see at_desk). The desk carries its site, so the ticket is joined to it.
_DESK = DESK.add_columns(bindparam("site", type_=Integer).label("site_id")).subquery("desk")
_AT_DESK = (_DESK.c.username, _DESK.c.table_number.label("desk_table"))
_CLAIM_AT_DESK = (
    update(TICKETS)
    .where(TICKETS.c.id == bindparam("ticket"), TICKETS.c.site_id == _DESK.c.site_id,
           TICKETS.c.status == TicketStatus.WAITING,
           _DESK.c.table_number.is_not(None), _DESK.c.away_since.is_(None))
    .values(status=TicketStatus.SERVING, staff_id=_DESK.c.id, table_number=_DESK.c.table_number,
            claimed_at=bindparam("now"))
    .returning(*VIEW, *_AT_DESK)
)
_END_AT_DESK = (
    update(TICKETS)
    .where(TICKETS.c.id == bindparam("ticket"), TICKETS.c.site_id == _DESK.c.site_id,
           TICKETS.c.status == TicketStatus.SERVING, TICKETS.c.staff_id == _DESK.c.id,
           _DESK.c.table_number.is_not(None))
    .values(status=bindparam("ended_as"), ended_at=bindparam("now"))
    .returning(*VIEW, *_AT_DESK)
)


def at_desk(connection: Connection) -> bool:
    """Use the folded statements here? On PostgreSQL, where each statement is a round trip.
    Not on SQLite: there its UPDATE … FROM measured ~190 µs against ~45 µs for the desk's
    SELECT and the plain UPDATE RETURNING (in-process calls, nothing to save). Nor without
    RETURNING."""
    return connection.dialect.name == "postgresql" and bool(connection.dialect.update_returning)


def claim_at_desk(connection: Connection, token_hash: str, ticket_id: int, now: datetime, *,
                  site: SiteId) -> Row[*tuple[Any, ...]] | None:
    """Waiting → serving for the token's staff member at their table here, if the token is
    live, they hold a table here, are not away and the ticket is waiting: VIEW's columns
    plus desk_table and username, or None if any of that does not hold (known.py says which)."""
    params = {"site": site, "ticket": ticket_id, "token_hash": token_hash, "now": now}
    return connection.execute(_CLAIM_AT_DESK, params).first()


def end_at_desk(connection: Connection, token_hash: str, ticket_id: int, status: str,
                now: datetime, *, site: SiteId) -> Row[*tuple[Any, ...]] | None:
    """Serving → `status`, only by the token's staff member serving it with a table here:
    VIEW's columns plus desk_table and username, or None (known.py says why)."""
    params = {"site": site, "ticket": ticket_id, "token_hash": token_hash, "now": now,
              "ended_as": status}
    return connection.execute(_END_AT_DESK, params).first()


def updated_view(connection: Connection, plain: Update, returning: Update,
                 params: dict[str, Any]) -> Row[*tuple[Any, ...]] | None:
    """Run a ticket UPDATE that matches at most one row (by primary key); the updated
    ticket's VIEW columns, or None if it matched nothing. A returned row means rowcount 1.
    SQLite before 3.35 has no RETURNING: then a SELECT follows a successful UPDATE."""
    if connection.dialect.update_returning:
        return connection.execute(returning, params).first()
    if connection.execute(plain, params).rowcount != 1:
        return None
    return connection.execute(_VIEW_OF, params).first()


def view_of(row: Row[*tuple[Any, ...]], staff: str, status: str, *,
            ended: bool = True) -> TicketView:
    """The TicketView of a row of VIEW's columns (`ended`: keep its ended_at)."""
    return TicketView(row.id, row.email, row.name, staff, row.created_at,
                      row.ended_at if ended else None, status, row.line_id, row.priority_reason)


def claim(connection: Connection, ticket_id: int, staff_id: int, table: int,
          now: datetime, *, site: SiteId) -> Row[*tuple[Any, ...]] | None:
    """Waiting → serving for this staff member at this table, if the ticket is waiting."""
    params = {"site": site, "ticket": ticket_id, "staff": staff_id, "table": table, "now": now}
    return updated_view(connection, _CLAIM, _CLAIM_RETURNING, params)


def end(connection: Connection, ticket_id: int, staff_id: int, status: str,
        now: datetime, *, site: SiteId) -> Row[*tuple[Any, ...]] | None:
    """Serving → completed or cancelled, only if this staff member is serving it."""
    params = {"site": site, "ticket": ticket_id, "staff": staff_id, "ended_as": status, "now": now}
    return updated_view(connection, _END, _END_RETURNING, params)


def state(connection: Connection, ticket_id: int, *,
          site: SiteId) -> Row[*tuple[Any, ...]] | None:
    """(status, staff_id) of a ticket: read only to say why a claim or an end was refused."""
    return connection.execute(_STATE, {"ticket": ticket_id, "site": site}).first()


def remember(connection: Connection, key: str, name: str, now: datetime, *,
             site: SiteId) -> int:
    """The site's visitor id for this (lower-cased) email, now carrying the latest name."""
    params = {"site": site, "key": key, "name_given": name, "now": now}
    dialect = connection.dialect
    if dialect.insert_returning:
        return connection.execute(_REMEMBER_RETURNING[dialect.name], params).scalar_one()
    connection.execute(_REMEMBER[dialect.name], params)
    return connection.execute(_VISITOR_ID, params).scalar_one()


def add_ticket(connection: Connection, visitor_id: int, email: str, name: str,
               now: datetime, *, site: SiteId, line: int) -> int:
    """A waiting ticket in `line`; its new id (RETURNING or the driver's lastrowid, as the
    dialect can)."""
    params = {"site": site, "visitor": visitor_id, "email_given": email, "name_given": name,
              "now": now, "line": line}
    inserted = connection.execute(_NEW_TICKET, params).inserted_primary_key
    assert inserted is not None  # typed optional; an INSERT of one row always has it
    return inserted[0]


# ---- new: one read of what the kiosk's rules need, then one write where it can be -------
_SITES, _SETTINGS = Site.__table__, Setting.__table__
# The site's zone and floor settings (floor.read's rows), then its lines in their order
# (line_sql.site_lines'), as one result: `part` says which. The columns one part lacks are
# typed NULLs, so both databases give the union one type per column.
_INPUTS = union_all(
    select(literal(0).label("part"), _SITES.c.timezone.label("text"), _SETTINGS.c.key,
           _SETTINGS.c.value, cast(null(), Integer).label("line"),
           cast(null(), Boolean).label("open"), cast(null(), Integer).label("position"))
    .select_from(_SITES.outerjoin(_SETTINGS, (_SETTINGS.c.site_id == _SITES.c.id)
                                  & _SETTINGS.c.key.in_(floor.KEYS)))
    .where(_SITES.c.id == bindparam("site")),
    select(literal(1), LINES.c.name, null(), null(), LINES.c.id, LINES.c.open, LINES.c.position)
    .where(LINES.c.site_id == bindparam("site"), LINES.c.removed_at.is_(None)),
).order_by(literal_column("part"), literal_column("position"), literal_column("line"))


def new_inputs(connection: Connection, site: SiteId) -> tuple[floor.Settings, list[LineRow]]:
    """The site's floor settings and its lines (none: a site without lines yet), read
    together: one statement, where floor.read and line_sql.site_lines were two."""
    raw: dict[str, str] = {}
    zone: str | None = None
    lines: list[LineRow] = []
    for row in connection.execute(_INPUTS, {"site": site}):
        if row.part == 1:
            lines.append(LineRow(row.line, row.text, bool(row.open)))
            continue
        zone = row.text
        if row.key is not None:
            raw[row.key] = row.value
    return floor.parsed(raw, zone), lines


# PostgreSQL: the visitor upsert as a data-modifying CTE feeding the ticket's INSERT. The
# binds are typed: in INSERT … SELECT no column tells PostgreSQL a parameter's type.
_VISITOR = _REMEMBER_RETURNING["postgresql"].cte("visitor")
_SIGN_IN = insert(TICKETS).from_select(
    ["site_id", "visitor_id", "email", "name", "status", "created_at", "line_id", "passed",
     "requeue_count"],
    select(bindparam("site", type_=Integer), _VISITOR.c.id,
           bindparam("email_given", type_=TICKETS.c.email.type),
           bindparam("name_given", type_=TICKETS.c.name.type),
           literal(TicketStatus.WAITING, type_=TICKETS.c.status.type),
           bindparam("now", type_=TICKETS.c.created_at.type),
           bindparam("line", type_=Integer), literal(0, type_=Integer), literal(0, type_=Integer)),
    include_defaults=False,  # every column is named: a Python default here would be a NULL
).returning(TICKETS.c.id)


def sign_in(connection: Connection, email: str, name: str, now: datetime, *, site: SiteId,
            line: int) -> int:
    """remember, then add_ticket: the new ticket's id. One statement on PostgreSQL; SQLite
    has no INSERT inside a WITH, so there it stays two (each an in-process call)."""
    dialect = connection.dialect
    if dialect.name != "postgresql" or not dialect.insert_returning:
        visitor_id = remember(connection, email.lower(), name, now, site=site)
        return add_ticket(connection, visitor_id, email, name, now, site=site, line=line)
    params = {"site": site, "key": email.lower(), "name_given": name, "email_given": email,
              "now": now, "line": line}
    return int(connection.execute(_SIGN_IN, params).scalar_one())
