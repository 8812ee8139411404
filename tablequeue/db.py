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
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
