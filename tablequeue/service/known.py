"""The read path of a ticket command whose ticket this worker saw taken (claimbook): one
read-only statement gives the token's desk and the ticket's state together, and the
refusal is decided from it in the protocol's order of checks. None means the read found
nothing to refuse (the ticket is waiting again, or is the caller's): take the write path."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, NamedTuple, Sequence

from sqlalchemy import (
    Integer, Select, String, bindparam, exists, func, literal_column, select, text, union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.visitors import replacement_traverse

from tablequeue.coalesce import Coalescer
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
    """The read for a batch of n (token, ticket) pairs as this dialect's SQL text, for the
    driver directly: the loser's read is the hot path of a claim storm, and SQLAlchemy's
    execute/result machinery around one small SELECT costs more than the SELECT itself."""

    sql: str
    order: tuple[str, ...] | None  # positional drivers (sqlite3): parameter names in order
    now: Callable[[Any], Any]  # the column type's own bind processing of a datetime
    constants: dict[str, Any]  # the statement's literal binds ('serving')


_COMPILED: dict[tuple[str, int], _Compiled] = {}
Pair = tuple[str, int]  # (token hash, ticket id)
_PER_PAIR = ("token_hash", "ticket")


def _one(slot: int) -> Select[Any]:
    """_DESK_AND_TICKET for pair number `slot`: its own parameter names, and the slot as
    the first column so the batch's rows find their callers."""
    def rename(element: Any) -> Any:
        if isinstance(element, BindParameter) and element.key in _PER_PAIR:
            return bindparam(f"{element.key}_{slot}", type_=element.type)
        return None

    renamed: Select[Any] = replacement_traverse(_DESK_AND_TICKET, {}, rename)
    return select(literal_column(str(slot)).label("slot"), *renamed.selected_columns.values()
                  ).select_from(*renamed.get_final_froms()).where(renamed.whereclause)


def _unnested() -> Select[Any]:
    """PostgreSQL: _DESK_AND_TICKET over arrays of pairs, one statement text whatever the
    batch's size. (A UNION of n copies was a new text per size: planned afresh on each
    pooled connection, it cost the server more than the reads.)"""
    pairs = func.unnest(bindparam("tokens", type_=ARRAY(String)),
                        bindparam("tickets", type_=ARRAY(Integer))).table_valued(
        "token_hash", "ticket", with_ordinality="slot").render_derived(name="pairs")
    columns = {"token_hash": pairs.c.token_hash, "ticket": pairs.c.ticket}

    def swap(element: Any) -> Any:
        if isinstance(element, BindParameter) and element.key in columns:
            return columns[element.key]
        return None

    read: Select[Any] = replacement_traverse(_DESK_AND_TICKET, {}, swap)
    return select((pairs.c.slot - literal_column("1")).label("slot"),
                  *read.selected_columns.values()
                  ).select_from(pairs, *read.get_final_froms()).where(read.whereclause)


def _compiled(dialect: Dialect, n: int) -> _Compiled:
    """SQLite (whose batches are of one: its statements never yield) gets a UNION of n."""
    n = 0 if dialect.name == "postgresql" else n
    found = _COMPILED.get((dialect.name, n))
    if found is None:
        statement = (_unnested() if n == 0 else _one(0) if n == 1
                     else union_all(*[_one(slot) for slot in range(n)]))
        compiled = statement.compile(dialect=dialect)
        process = StaffSession.__table__.c.expires_at.type.bind_processor(dialect)
        order = tuple(compiled.positiontup) if compiled.positional else None  # type: ignore[arg-type]
        found = _COMPILED[(dialect.name, n)] = _Compiled(
            str(compiled), order, process or (lambda value: value), dict(compiled.params))
    return found


def _values(stmt: _Compiled, pairs: Sequence[Pair]) -> Any:
    values = {**stmt.constants, "now": stmt.now(utcnow())}
    if "tokens" in values:  # the arrays of _unnested
        values["tokens"], values["tickets"] = [p[0] for p in pairs], [p[1] for p in pairs]
    else:
        for slot, (token_hash, ticket_id) in enumerate(pairs):
            values[f"token_hash_{slot}"], values[f"ticket_{slot}"] = token_hash, ticket_id
    return tuple(values[name] for name in stmt.order) if stmt.order else values


def _read_batch(engine: Engine, pairs: Sequence[Pair]) -> list[_Row | None]:
    """One SELECT for every pair, on a pooled driver connection, no transaction of ours:
    on SQLite (in autocommit) no BEGIN, so no write lock; on PostgreSQL in autocommit for
    the statement, so neither a BEGIN nor a ROLLBACK round trip. It reads one snapshot."""
    stmt = _compiled(engine.dialect, len(pairs))
    params = _values(stmt, pairs)
    rows: list[_Row | None] = [None] * len(pairs)
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        psycopg = not isinstance(driver, sqlite3.Connection)  # sqlite3: in autocommit already
        if psycopg:
            driver.autocommit = True  # a client-side flag: no round trip
        try:
            cursor = driver.cursor()
            cursor.execute(stmt.sql, params)
            for slot, *row in cursor.fetchall():
                rows[slot] = _Row(*row)
            cursor.close()
        finally:
            if psycopg:
                driver.autocommit = False
    finally:
        raw.close()  # back to the pool (nothing to roll back)
    return rows


_READERS: dict[Engine, Coalescer[Pair, _Row | None]] = {}


def _read(token_hash: str, ticket_id: int) -> _Row | None:
    """This caller's row of the next batched read (tablequeue.coalesce): losers arriving
    together share one statement and one connection."""
    engine = db.engine
    if engine.dialect.name == "sqlite":  # its statement never yields: a batch is always one
        return _read_batch(engine, ((token_hash, ticket_id),))[0]
    reader = _READERS.get(engine)
    if reader is None:
        reader = _READERS[engine] = Coalescer(partial(_read_batch, engine))
    return reader.ask((token_hash, ticket_id))


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
