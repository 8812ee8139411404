"""The read path of a ticket command whose ticket this worker saw taken (claimbook): one
read-only statement gives the token's desk and the ticket's state together, and the
refusal is decided from it in the protocol's order of checks. None means the read found
nothing to refuse (the ticket is waiting again, or is the caller's): take the write path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from sqlalchemy import bindparam, exists, select, text
from sqlalchemy.engine import Dialect

from tablequeue.extensions import db
from tablequeue.models import StaffSession, TicketStatus, utcnow
from tablequeue.outcomes import Refusal
from tablequeue.service.identity import _DESK, _STAFF
from tablequeue.service.ticket_sql import TICKETS

_FINISHED = (TicketStatus.COMPLETED, TicketStatus.CANCELLED, TicketStatus.LEFT)
_TICKET = TICKETS.c.id == bindparam("ticket")
# _DESK's row plus the ticket's status and owner: the token's checks and the ticket's in
# one round trip. No row: the token is not live.
_DESK_AND_TICKET = _DESK.add_columns(
    select(TICKETS.c.status).where(_TICKET).scalar_subquery().label("ticket_status"),
    select(TICKETS.c.staff_id).where(_TICKET).scalar_subquery().label("ticket_staff"),
    # Written as the partial unique index's own WHERE, so the index answers it.
    exists().where(TICKETS.c.staff_id == _STAFF.c.id,
                   text("tickets.status = 'serving'")).label("serving"),
)


class _Row(NamedTuple):
    id: int
    username: str
    table_number: int | None
    away_since: Any
    ticket_status: str | None
    ticket_staff: int | None
    serving: Any  # the staff member serves a ticket already (0/1 or bool, by driver)


@dataclass(frozen=True)
class _Compiled:
    """_DESK_AND_TICKET as this dialect's SQL text, for the driver directly: the loser's
    read is the hot path of a claim storm, and SQLAlchemy's execute/result machinery
    around one small SELECT costs more than the SELECT itself."""

    sql: str
    order: tuple[str, ...] | None  # positional drivers (sqlite3): parameter names in order
    now: Callable[[Any], Any]  # the column type's own bind processing of a datetime
    constants: dict[str, Any]  # the statement's literal binds ('serving')


_COMPILED: dict[str, _Compiled] = {}


def _compiled(dialect: Dialect) -> _Compiled:
    found = _COMPILED.get(dialect.name)
    if found is None:
        compiled = _DESK_AND_TICKET.compile(dialect=dialect)
        process = StaffSession.__table__.c.expires_at.type.bind_processor(dialect)
        order = tuple(compiled.positiontup) if compiled.positional else None  # type: ignore[arg-type]
        found = _COMPILED[dialect.name] = _Compiled(
            str(compiled), order, process or (lambda value: value), dict(compiled.params))
    return found


def _read(token_hash: str, ticket_id: int) -> _Row | None:
    """One SELECT on a pooled driver connection, no transaction of ours: on SQLite (in
    autocommit) no BEGIN, so no write lock; the statement reads one committed snapshot."""
    engine = db.engine
    stmt = _compiled(engine.dialect)
    values = {**stmt.constants, "token_hash": token_hash, "now": stmt.now(utcnow()),
              "ticket": ticket_id}
    params: Any = tuple(values[name] for name in stmt.order) if stmt.order else values
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(stmt.sql, params)
        row = cursor.fetchone()
        cursor.close()
    finally:
        raw.close()  # back to the pool, rolled back (nothing to undo)
    return _Row(*row) if row else None


def accept_refusal(token_hash: str | None, ticket_id: int) -> Refusal | None:
    """accept: token -> table -> away -> no such ticket -> claimed -> finished -> busy."""
    if not token_hash:
        return Refusal.TOKEN_INVALID
    row = _read(token_hash, ticket_id)
    if row is None:
        return Refusal.TOKEN_INVALID
    if row.table_number is None:
        return Refusal.NO_TABLE
    if row.away_since is not None:
        return Refusal.AWAY
    if row.ticket_status is None:
        return Refusal.NO_TICKET
    if row.ticket_status == TicketStatus.SERVING:
        return Refusal.CLAIMED
    if row.ticket_status in _FINISHED:
        return Refusal.FINISHED
    if row.serving:
        return Refusal.BUSY
    return None  # waiting (again): the claim decides


def end_refusal(token_hash: str | None, ticket_id: int) -> Refusal | None:
    """complete/cancel/requeue: table -> no such ticket -> finished -> not the owner."""
    row = _read(token_hash, ticket_id) if token_hash else None
    if row is None or row.table_number is None:
        return Refusal.NO_TABLE
    if row.ticket_status is None:
        return Refusal.NO_TICKET
    if row.ticket_status in _FINISHED:
        return Refusal.FINISHED
    if row.ticket_status != TicketStatus.SERVING or row.ticket_staff != row.id:
        return Refusal.NOT_OWNER
    return None  # the caller's own ticket in service: the write decides (and the limit)
