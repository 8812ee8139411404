"""Engine set-up that the rules depend on, and the one way the service opens a transaction."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from tablequeue.extensions import db


@event.listens_for(Engine, "connect")
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


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(connection: Connection) -> None:
    # Take the write lock at BEGIN: a read-then-write transaction can then never be
    # overtaken by another writer between its read and its write.
    if connection.dialect.name == "sqlite":
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
