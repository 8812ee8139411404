"""PostgreSQL: a transaction's seal rides to the server with its COMMIT (issue 27: the log
adds a statement, not a round trip).

On an engine `install`ed here (the app's: app.py), `eventlog.seal` does not
run its statement. It leaves the statement with the connection (`defer`) and returns its
events numbered 0, in a list that the commit numbers in place: the owner's `with` block
ends, the engine's `commit` event sends every deferred seal and then COMMIT as one query
string (one round trip: client-side binding, so several statements can go in one), and
the list holds the numbers before the block has returned. Nothing reads a number before
COMMIT: events are published after it, and Registry.publish's check (strict in the test
suite) refuses an event that still has 0.

A seal that fails (the server went away, a bug) fails that query, so the COMMIT: the
owner sees the error where it saw COMMIT's, as the SQLAlchemy exception it would have been
(OperationalError, IntegrityError, ...), and the rollback that follows ends the
transaction. `begin` and `rollback` drop whatever is
pending (a rolled-back transaction's seals never ran, so they take no number).

The counter's row lock is now taken as the COMMIT begins, not when the owner's block
ended: held for one statement's time instead of a round trip's, in the same order as
before (business rows first, then sites ascending)."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import psycopg
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import DBAPIError

from tablequeue.outcomes import Event, SiteId

Row = tuple[SiteId, datetime, str]  # one site's row of the log: site, at, body (JSON)

_PENDING = "tablequeue.deferred_seals"  # key in the DBAPI connection's info dict
_RIDING: weakref.WeakSet[Engine] = weakref.WeakSet()

# The seal on PostgreSQL: the counter's upsert (its row lock, held to COMMIT, orders
# concurrent writers) and the row under its number. `_SEAL` is it in psycopg's own
# placeholders, client-bound (site, site, at, body); eventlog._SEAL_PG in SQLAlchemy's.
SEAL = ("WITH n AS (INSERT INTO event_counters (site_id, last) VALUES ({site}, 1) "
        "ON CONFLICT (site_id) DO UPDATE SET last = event_counters.last + 1 RETURNING last) "
        "INSERT INTO event_log (site_id, seq, at, body) SELECT {site}, last, {at}, {body} "
        "FROM n RETURNING seq")
_SEAL = SEAL.format(site="%s", at="%s", body="%s")


@dataclass
class _Deferred:
    """One `seal` call: its rows (site, at, body), its events, and the list to number."""

    rows: list[Row]
    events: Sequence[Event]
    numbered: list[Event]


def install(engine: Engine) -> None:
    """Let seals on this engine's connections ride with their COMMIT."""
    event.listen(engine, "commit", _commit)
    event.listen(engine, "rollback", _drop)
    event.listen(engine, "begin", _drop)
    _RIDING.add(engine)


def rides(connection: Connection) -> bool:
    """Whether a seal on this connection is deferred to its COMMIT."""
    return connection.engine in _RIDING


def defer(connection: Connection, rows: list[Row],
          events: Sequence[Event]) -> list[Event]:
    """Leave a seal for the COMMIT; the events, numbered 0 until then (in place)."""
    numbered = [replace(e, seq=0) for e in events]
    connection.info.setdefault(_PENDING, []).append(_Deferred(rows, events, numbered))
    return numbered


def _drop(connection: Connection) -> None:
    # An invalidated connection (the server went away) refuses even `info`, and raising
    # here would replace the disconnect owners answer "unavailable" with PendingRollbackError.
    # Its pending seals go with its DBAPI connection: the pool clears `info` on reconnect.
    if not connection.invalidated:
        connection.info.pop(_PENDING, None)


def _commit(connection: Connection) -> None:
    # (Never on an invalidated connection: SQLAlchemy's commit refuses before this event.)
    pending: list[_Deferred] = connection.info.pop(_PENDING, None) or []
    if not pending:
        return
    rows = [row for deferred in pending for row in deferred.rows]
    query = "; ".join([_SEAL] * len(rows) + ["COMMIT"])
    params = [value for site, at, body in rows for value in (site, site, at, body)]
    dbapi = connection.connection.dbapi_connection
    assert isinstance(dbapi, psycopg.Connection)
    numbers: list[int] = []
    try:
        with psycopg.ClientCursor(dbapi) as cursor:
            cursor.execute(query, params)
            for _ in rows:
                found = cursor.fetchone()
                assert found is not None
                numbers.append(int(found[0]))
                cursor.nextset()
    except psycopg.Error as error:  # as SQLAlchemy would raise it: owners catch its classes
        raise DBAPIError.instance(query, params, error, psycopg.Error,
                                  dialect=connection.dialect) from error
    # psycopg now sees no transaction: SQLAlchemy's own commit() that follows is a no-op.
    given = iter(numbers)
    for deferred in pending:
        by_site = {site: next(given) for site, _at, _body in deferred.rows}
        deferred.numbered[:] = [replace(e, seq=by_site[e.site]) for e in deferred.events]
