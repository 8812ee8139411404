"""The ticket path's SQL as Core statements built once at import, with bound parameters:
each statement's cache key is computed once and its compiled form reused, so a command
costs a few driver calls instead of the ORM's loading, flushing and refreshing. Every
statement names its site: another site's ticket or visitor is one that does not exist."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert, Update

from tablequeue.models import Ticket, TicketStatus, Visitor
from tablequeue.outcomes import SiteId, TicketView

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
