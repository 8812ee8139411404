"""Engine set-up that the rules depend on, and the one way the service opens a transaction."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import CursorResult, Result, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, Pool, PoolProxiedConnection

from tablequeue.extensions import db


def prepare(engine: Engine) -> None:
    """The app's own engine (app.py), right after it is made: on SQLite the pragmas and
    BEGIN IMMEDIATE the rules depend on, on PostgreSQL the idle ping. On this engine only,
    not on the Engine class: another engine in the process (a test's, a script's) is not
    ours to change."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    elif engine.dialect.name == "postgresql":
        ping_when_idle(engine.pool)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy's "begin" hook below issue BEGIN itself instead of pysqlite's lazy BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer. NORMAL: a commit survives a process crash
    # (SIGKILL); only an OS crash or power loss can take the last commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# pool_pre_ping was a round trip on every checkout: one per command, and in a claim storm
# one per losing accept. Instead a pooled PostgreSQL connection is checked without a round
# trip (libpq reads whatever the server sent it while idle: a terminated backend's goodbye
# or a closed socket marks it broken), and pinged only if it sat unused this long, the case
# a silent network failure needs.
PING_IDLE_SECONDS = 1.0


def ping_when_idle(pool: Pool) -> None:
    """For a PostgreSQL engine's pool (prepare), in place of pool_pre_ping. Not on SQLite's,
    whose file needs no ping: its losing accept is ~40 µs, and listeners cost a few."""
    event.listen(pool, "checkin", _used)
    event.listen(pool, "checkout", _ping_if_idle)
    event.listen(pool, "connect", _fresh)


def _used(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["tq_used"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry,
                  proxy: PoolProxiedConnection) -> None:
    used = record.info.get("tq_used")
    try:
        if not _looks_alive(dbapi_connection):
            raise DisconnectionError()
        if used is None or time.monotonic() - used >= PING_IDLE_SECONDS:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
    except Exception as dead:  # the pool discards it and checks out another (3 tries)
        raise DisconnectionError() from dead


def _looks_alive(dbapi_connection: Any) -> bool:
    """psycopg: read, without waiting, what the server sent while the connection sat idle
    (nothing, for a live one)."""
    pgconn = getattr(getattr(dbapi_connection, "driver_connection", dbapi_connection),
                     "pgconn", None)
    if pgconn is None:
        return True
    # Twice: a goodbye message is read by the first, the closed socket seen by the second.
    pgconn.consume_input()  # raises on a closed socket
    pgconn.consume_input()
    return bool(pgconn.status == 0)  # CONNECTION_OK


def _fresh(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["tq_used"] = time.monotonic()  # a connection just made needs no ping


def _sqlite_begin_immediate(connection: Connection) -> None:
    # Take the write lock at BEGIN: a read-then-write transaction can then never be
    # overtaken by another writer between its read and its write.
    reading = connection.get_execution_options().get("tablequeue_read_only", False)
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One short transaction: open, act, commit (or roll back), release the connection."""
    with Session(db.engine, expire_on_commit=False) as session, session.begin():
        yield session


@contextmanager
def transaction() -> Iterator[Connection]:
    """unit_of_work without the ORM, for the ticket path's Core statements: one short
    transaction on a pooled Connection (no identity map, flush or refresh to pay for);
    an exception rolls it back and propagates."""
    with db.engine.begin() as connection:
        yield connection


@contextmanager
def read_only() -> Iterator[Connection]:
    """A read transaction for reports: several queries see one snapshot, and no write lock
    is taken (on SQLite BEGIN IMMEDIATE would stop every kiosk for as long as a report
    reads; a deferred BEGIN under WAL reads a snapshot beside the writer)."""
    options: dict[str, Any] = {"tablequeue_read_only": True}
    if db.engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with db.engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def rowcount(result: Result[*tuple[Any, ...]]) -> int:
    """The rows an UPDATE or DELETE run through a Session matched. Session.execute is typed
    to return a Result; a DML statement's is a CursorResult, which counts them."""
    return cast("CursorResult[*tuple[Any, ...]]", result).rowcount
