"""The ticket path's Core statements, in process (no websockets): every refusal of
accept, complete and cancel in the protocol's order, the events' ticket views, and the
same answers where the database has no RETURNING (SQLite before 3.35)."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from psycopg.pq import Trace

from tablequeue import service
from tablequeue.extensions import db
from tablequeue.outcomes import Refusal, SiteId, TicketClaimed, TicketEnded
from tablequeue.service import claimbook, identity, known
from tablequeue.service.directory import directory_of
from tablequeue.service.identity import hash_token
from tests.kit.live import LiveServer


@pytest.fixture(params=["returning", "no returning"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on a fresh database (not served); "no returning" hides RETURNING from it."""
    live = LiveServer(tmp_path)  # migrates a fresh database; never started
    with live.app.app_context():
        if request.param == "no returning":
            dialect = db.engine.dialect
            dialect.update_returning = dialect.insert_returning = False
        yield live.app
    live.close()


def site() -> SiteId:
    """The default site: the one every call here is about."""
    return directory_of(current_app).default().id


def token(username: str, table: int | None) -> str:
    """A new account's session token hash, seated at `table` unless None."""
    identity.add_staff(username, "password123")
    token_hash = hash_token(identity.issue_token(username))
    if table is not None:
        assert service.pick(token_hash, table, site=site()).ok
    return token_hash


def test_accept_refusals_in_order(app: Flask) -> None:
    ada, bob, cy = token("ada", 1), token("bob", 2), token("cy", None)
    first = service.new("Vi@Example.org", "Vi", site=site()).value.id
    second = service.new("vi@example.org", "Vi Two", site=site()).value.id
    assert service.accept("not a token", first, site=site()).refusal is Refusal.TOKEN_INVALID
    assert service.accept(cy, first, site=site()).refusal is Refusal.NO_TABLE
    assert service.accept(ada, None, site=site()).refusal is Refusal.NO_TICKET
    assert service.accept(ada, 999, site=site()).refusal is Refusal.NO_TICKET
    claimed = service.accept(ada, first, site=site())
    assert claimed.ok and claimed.value == first
    event = claimed.events[0]
    assert isinstance(event, TicketClaimed) and event.table == 1
    assert (event.ticket.staff, event.ticket.status, event.ticket.end) == ("ada", "serving", None)
    assert (event.ticket.email, event.ticket.name) == ("Vi@Example.org", "Vi")
    assert service.accept(bob, first, site=site()).refusal is Refusal.CLAIMED
    assert service.accept(ada, first, site=site()).refusal is Refusal.CLAIMED
    assert service.accept(ada, second, site=site()).refusal is Refusal.BUSY  # the unique index
    assert service.accept(bob, second, site=site()).ok  # the refused claim changed nothing
    assert service.complete(ada, first, site=site()).ok
    assert service.accept(bob, first, site=site()).refusal is Refusal.FINISHED
    assert service.query("VI@example.org", site=site()).value == "Vi Two"


ENDED_AS = {"complete": "completed", "cancel": "cancelled"}


@pytest.mark.parametrize("word", ["complete", "cancel"])
def test_end_refusals_in_order(app: Flask, word: str) -> None:
    end = getattr(service, word)
    ada, bob, cy = token("ada", 1), token("bob", 2), token("cy", None)
    waiting = service.new("w@example.org", "W", site=site()).value.id
    served = service.new("s@example.org", "S", site=site()).value.id
    assert service.accept(ada, served, site=site()).ok
    assert end("not a token", served, site=site()).refusal is Refusal.NO_TABLE
    assert end(cy, served, site=site()).refusal is Refusal.NO_TABLE
    assert end(ada, None, site=site()).refusal is Refusal.NO_TICKET
    assert end(ada, 999, site=site()).refusal is Refusal.NO_TICKET
    assert end(ada, waiting, site=site()).refusal is Refusal.NOT_OWNER
    assert end(bob, served, site=site()).refusal is Refusal.NOT_OWNER
    ended = end(ada, served, site=site())
    assert ended.ok and ended.value == served
    event = ended.events[0]
    assert isinstance(event, TicketEnded) and event.table == 1
    assert event.completed is (word == "complete")
    assert (event.ticket.staff, event.ticket.status) == ("ada", ENDED_AS[word])
    assert event.ticket.end is not None and event.ticket.end >= event.ticket.start
    assert end(ada, served, site=site()).refusal is Refusal.FINISHED
    assert end(bob, served, site=site()).refusal is Refusal.FINISHED


def test_one_batched_read_answers_each_pair_as_its_own_read(app: Flask) -> None:
    """Losers' reads that arrive together share one statement (service/known.py): each
    pair in it must get exactly the row a read of its own would give, whatever the others."""
    ada, bob, cy = token("ada", 1), token("bob", 2), token("cy", None)
    first = service.new("a@example.org", "A", site=site()).value.id
    second = service.new("b@example.org", "B", site=site()).value.id
    assert service.accept(ada, first, site=site()).ok
    done = service.new("c@example.org", "C", site=site()).value.id
    assert service.accept(bob, done, site=site()).ok and service.complete(bob, done, site=site()).ok
    pairs = [(ada, second), ("no such token", first), (bob, first), (cy, first),
             (bob, 999), (ada, done), (bob, second), (ada, first)]
    here = site()
    batch = known._read_batch(db.engine, [(token, ticket, here) for token, ticket in pairs])
    alone = [known._read_batch(db.engine, [(*pair, here)])[0] for pair in pairs]
    assert batch == alone
    assert batch[1] is None  # a dead token has no row, even among live ones
    assert [row.ticket_status if row else None for row in batch] == [
        "waiting", None, "serving", "serving", None, "completed", "waiting", "serving"]
    assert batch[0].serving and not batch[2].serving  # ada serves `first`; bob serves none
    assert batch[3].table_number is None



@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements that reach the database meanwhile: on SQLite as SQLite traces
    them (the event log's seal runs on the DBAPI cursor, past SQLAlchemy), on PostgreSQL as
    SQLAlchemy hands them to psycopg."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(statement)

    def traced(statement: str) -> None:
        if not statement.startswith(("COMMIT", "PRAGMA")):  # as on PostgreSQL
            seen.append(statement)

    def tracing(dbapi: sqlite3.Connection, _record: object) -> None:
        dbapi.set_trace_callback(traced)

    sqlite = db.engine.dialect.name == "sqlite"
    if sqlite:
        db.engine.dispose()  # the connections opened from here on are traced
    sa.event.listen(db.engine, *(("connect", tracing) if sqlite
                                 else ("before_cursor_execute", note)))
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, *(("connect", tracing) if sqlite
                                     else ("before_cursor_execute", note)))
        if sqlite:
            db.engine.dispose()


@contextmanager
def round_trips() -> Iterator[list[str]]:
    """PostgreSQL: each round trip psycopg makes meanwhile, from libpq's own trace: a
    simple Query's text, or for an extended-protocol statement (ending in Sync) its Parse."""
    traced: list[tuple[psycopg.Connection[Any], IO[bytes]]] = []

    def tracing(dbapi: psycopg.Connection[Any], _record: object) -> None:
        out = tempfile.TemporaryFile()
        dbapi.pgconn.trace(out.fileno())
        dbapi.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        traced.append((dbapi, out))

    trips: list[str] = []
    db.engine.dispose()  # the connections opened from here on are traced
    sa.event.listen(db.engine, "connect", tracing)
    try:
        yield trips
    finally:
        sa.event.remove(db.engine, "connect", tracing)
        for dbapi, out in traced:
            with out:
                dbapi.pgconn.untrace()  # flushes libpq's stream
                out.seek(0)
                trips.extend(_trips(out.read().decode()))
        db.engine.dispose()


def _trips(trace: str) -> Iterator[str]:
    parsed = ""
    for line in trace.splitlines():  # a statement's own line breaks start lines too
        sender, _length, kind, *rest = line.split("\t") + ["", "", ""]
        if sender != "F":
            continue
        text = rest[0].strip()
        if kind == "Query":
            yield text.removeprefix('"').removesuffix('"')
        elif kind == "Parse":
            parsed = text
        elif kind == "Sync":
            yield parsed


def one_ticket(seen: Callable[[], AbstractContextManager[list[str]]],
               ) -> tuple[list[str], list[str], list[str]]:
    """What `seen` records during a ticket's `new`, winning `accept` and `complete`."""
    ada = token("ada", 1)
    service.new("warm@example.org", "Warm", site=site())  # the webhook sites' read, once
    with seen() as new:
        ticket = service.new("n@example.org", "N", site=site()).value.id
    # This process's claim book may know the id as taken by an earlier test's ticket (ids
    # start over after a reset): then accept reads first (known.py), which is not this.
    claimbook.book().forget(ticket)
    with seen() as accept:
        assert service.accept(ada, ticket, site=site()).ok
    with seen() as complete:
        assert service.complete(ada, ticket, site=site()).ok
    return new, accept, complete


def test_statements_per_command(app: Flask) -> None:
    """The ticket path's round trips (issue 26): on PostgreSQL `new` is one read and one
    write (the visitor upsert inside the ticket's INSERT), a winning `accept` or a
    `complete` one UPDATE with the desk folded in; SQLite, whose statements are calls in
    process, keeps the desk's read and its two inserts. BEGIN and COMMIT are psycopg's own
    and not counted here; SQLite's BEGIN IMMEDIATE is. Each also seals its event into the
    site's log (issue 27): one more statement (in process) on SQLite; on PostgreSQL the
    seal is sent with COMMIT, past SQLAlchemy (the next test counts those round trips)."""
    new, accept, complete = one_ticket(statements)
    if not db.engine.dialect.update_returning:
        return  # the fallback's counts are SQLAlchemy's business (ids fetched apart, ...)
    postgresql = db.engine.dialect.name == "postgresql"
    assert [len(new), len(accept), len(complete)] == ([2, 1, 1] if postgresql else [5, 4, 4])


def test_on_postgresql_the_seal_rides_with_commit(app: Flask) -> None:
    """Issue 27: the log adds a statement, not a round trip. What psycopg sends per
    command, from libpq's trace: BEGIN, the command's statements, then the seal and COMMIT
    as one query, so as many round trips as before the log (4 / 3 / 3)."""
    if db.engine.dialect.name != "postgresql":
        return  # SQLite's statements are calls in process: counted above
    new, accept, complete = one_ticket(round_trips)
    for trips in (new, accept, complete):
        assert trips[0] == "BEGIN", trips
        assert "INSERT INTO event_log" in trips[-1] and trips[-1].endswith("; COMMIT"), trips
        assert not any("event_" in trip for trip in trips[:-1]), trips
    if db.engine.dialect.update_returning:  # the fallback's are SQLAlchemy's business
        assert [len(new), len(accept), len(complete)] == [4, 3, 3]
