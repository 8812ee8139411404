"""The read path of a ticket command whose ticket this worker saw taken (claimbook): one
read-only statement gives the token's desk and the ticket's state together, and the
refusal is decided from it in the protocol's order of checks. None means the read found
nothing to refuse (the ticket is waiting again, or is the caller's): take the write path."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

from tablequeue.extensions import db
from tablequeue.models import StaffSession, TicketStatus, utcnow
from tablequeue.outcomes import Refusal, SiteId
from tablequeue.service.coalesce import Coalescer
from tablequeue.service.identity import DESK, STAFF
from tablequeue.service.ticket_sql import TICKETS

# Another site's ticket is no ticket: every read of it names the site (DESK's table too).
_TICKET = (TICKETS.c.id == bindparam("ticket")) & (TICKETS.c.site_id == bindparam("site"))
# DESK's row plus the ticket's status and owner: the token's checks and the ticket's in
# one round trip. No row: the token is not live.
_DESK_AND_TICKET = DESK.add_columns(
    select(TICKETS.c.status).where(_TICKET).scalar_subquery().label("ticket_status"),
    select(TICKETS.c.staff_id).where(_TICKET).scalar_subquery().label("ticket_staff"),
    # Written as the partial unique index's own WHERE, so the index answers it.
    exists().where(TICKETS.c.staff_id == STAFF.c.id,
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
    """The loser's read as this dialect's SQL text (PostgreSQL: for a batch of pairs), for
    the driver directly: the loser's read is the hot path of a claim storm, and SQLAlchemy's
    execute/result machinery around one small SELECT costs more than the SELECT itself."""

    sql: str
    order: tuple[str, ...] | None  # positional drivers (sqlite3): parameter names in order
    now: Callable[[Any], Any]  # the column type's own bind processing of a datetime
    constants: dict[str, Any]  # the statement's literal binds ('serving')


_COMPILED: dict[str, _Compiled] = {}
Pair = tuple[str, int, int]  # (token hash, ticket id, site id)


def _unnested() -> Select[*tuple[Any, ...]]:
    """PostgreSQL: _DESK_AND_TICKET over arrays of pairs, one statement text whatever the
    batch's size, with each pair's position as the first column. (A UNION of n copies was
    a new text per size: planned afresh on each pooled connection, it cost the server more
    than the reads.)"""
    pairs = func.unnest(bindparam("tokens", type_=ARRAY(String)),
                        bindparam("tickets", type_=ARRAY(Integer)),
                        bindparam("sites", type_=ARRAY(Integer))).table_valued(
        "token_hash", "ticket", "site", with_ordinality="slot").render_derived(name="pairs")
    columns = {"token_hash": pairs.c.token_hash, "ticket": pairs.c.ticket, "site": pairs.c.site}

    def swap(element: Any, **kw: Any) -> Any:
        if isinstance(element, BindParameter) and element.key in columns:
            return columns[element.key]
        return None

    # Typed as any traversible: a Select in, the same Select with the binds swapped out.
    read = cast("Select[*tuple[Any, ...]]", replacement_traverse(_DESK_AND_TICKET, {}, swap))
    where = read.whereclause
    assert where is not None  # _DESK_AND_TICKET's own WHERE, its binds swapped
    return select((pairs.c.slot - literal_column("1")).label("slot"),
                  *read.selected_columns.values()
                  ).select_from(pairs, *read.get_final_froms()).where(where)


def _compiled(dialect: Dialect) -> _Compiled:
    found = _COMPILED.get(dialect.name)
    if found is None:
        statement = _unnested() if dialect.name == "postgresql" else _DESK_AND_TICKET
        compiled = statement.compile(dialect=dialect)
        process = StaffSession.__table__.c.expires_at.type.bind_processor(dialect)
        positions = compiled.positiontup  # set when the dialect is positional
        order = tuple(positions) if compiled.positional and positions is not None else None
        found = _COMPILED[dialect.name] = _Compiled(
            str(compiled), order, process or (lambda value: value), dict(compiled.params))
    return found


def _params(stmt: _Compiled, values: dict[str, Any]) -> Any:
    values = {**stmt.constants, "now": stmt.now(utcnow()), **values}
    return tuple(values[name] for name in stmt.order) if stmt.order else values


def _read_batch(engine: Engine, pairs: Sequence[Pair]) -> list[_Row | None]:
    """Each pair's row, on one pooled driver connection, no transaction of ours. SQLite (in
    autocommit: no BEGIN, so no write lock) reads pair by pair: its batches are of one
    (_read). PostgreSQL reads every pair with one statement, in autocommit for it: neither
    a BEGIN nor a ROLLBACK round trip."""
    stmt = _compiled(engine.dialect)
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        if isinstance(driver, sqlite3.Connection):
            return [_one(driver, stmt, pair) for pair in pairs]
        driver.autocommit = True  # a client-side flag: no round trip
        try:
            return _all(driver, stmt, pairs)
        finally:
            driver.autocommit = False
    finally:
        raw.close()  # back to the pool (nothing to roll back)


def _one(driver: Any, stmt: _Compiled, pair: Pair) -> _Row | None:
    cursor = driver.cursor()
    values = {"token_hash": pair[0], "ticket": pair[1], "site": pair[2]}
    cursor.execute(stmt.sql, _params(stmt, values))
    row = cursor.fetchone()
    cursor.close()
    return _Row(*row) if row else None


def _all(driver: Any, stmt: _Compiled, pairs: Sequence[Pair]) -> list[_Row | None]:
    rows: list[_Row | None] = [None] * len(pairs)  # no row: the token is not live
    cursor = driver.cursor()
    cursor.execute(stmt.sql, _params(stmt, {"tokens": [p[0] for p in pairs],
                                            "tickets": [p[1] for p in pairs],
                                            "sites": [p[2] for p in pairs]}))
    for slot, *row in cursor.fetchall():
        rows[slot] = _Row(*row)
    cursor.close()
    return rows


_READERS: dict[Engine, Coalescer[Pair, _Row | None]] = {}


def _read(token_hash: str, ticket_id: int, site: SiteId) -> _Row | None:
    """This caller's row of the next batched read (tablequeue.service.coalesce): losers arriving
    together share one statement and one connection."""
    engine = db.engine
    if engine.dialect.name == "sqlite":  # its statement never yields: a batch is always one
        return _read_batch(engine, ((token_hash, ticket_id, site),))[0]
    reader = _READERS.get(engine)
    if reader is None:
        reader = _READERS[engine] = Coalescer(partial(_read_batch, engine))
    return reader.ask((token_hash, ticket_id, site))


def in_transaction(connection: Connection, token_hash: str, ticket_id: int, *,
                   site: SiteId) -> _Row | None:
    """The same row, read inside the caller's transaction: why its folded UPDATE (ticket_sql
    claim_at_desk, end_at_desk) matched nothing, seen as that UPDATE left things (on SQLite
    under the same write lock)."""
    params = {"token_hash": token_hash, "ticket": ticket_id, "site": site, "now": utcnow()}
    row = connection.execute(_DESK_AND_TICKET, params).first()
    return _Row(*row) if row else None


def accept_refusal(token_hash: str | None, ticket_id: int, *, site: SiteId) -> Refusal | None:
    """accept: token -> table -> away -> no such ticket -> claimed -> finished -> busy."""
    if not token_hash:
        return Refusal.TOKEN_INVALID
    return accept_verdict(_read(token_hash, ticket_id, site))


def accept_verdict(row: _Row | None) -> Refusal | None:
    """accept_refusal's order of checks on a row already read (None: no live token)."""
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
    if row.ticket_status in TicketStatus.FINISHED:
        return Refusal.FINISHED
    if row.serving:
        return Refusal.BUSY
    return None  # waiting (again): the claim decides


def end_refusal(token_hash: str | None, ticket_id: int, *, site: SiteId) -> Refusal | None:
    """complete/cancel/requeue: table -> no such ticket -> finished -> not the owner."""
    return end_verdict(_read(token_hash, ticket_id, site) if token_hash else None)


def end_verdict(row: _Row | None) -> Refusal | None:
    """end_refusal's order of checks on a row already read (None: no live token)."""
    if row is None or row.table_number is None:
        return Refusal.NO_TABLE
    if row.ticket_status is None:
        return Refusal.NO_TICKET
    if row.ticket_status in TicketStatus.FINISHED:
        return Refusal.FINISHED
    if row.ticket_status != TicketStatus.SERVING or row.ticket_staff != row.id:
        return Refusal.NOT_OWNER
    return None  # the caller's own ticket in service: the write decides (and the limit)
