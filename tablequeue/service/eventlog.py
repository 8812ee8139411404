"""The event log (issue 27, docs/design-27.md §1): every change screens see, written as a
numbered row of its site's log in the transaction of the change.

Each transaction owner ends its block with `seal(bind, events)`: per site (ascending ids),
one row holds the site's events as JSON under the site's next number: on PostgreSQL from a
counter bumped by an upsert, whose row lock is held to COMMIT, sent with the COMMIT
itself (tablequeue.service.pgseal: no extra round trip); on SQLite, whose writers are one
at a time, from the log itself. So a site's numbers follow commit order without holes
(a rollback gives its number back), and a worker that hears n+2 after n finds n+1 in the
log. Live code reads with `since`/`newest` through db.read_only(); `trim` keeps
EVENT_KEEP_MINUTES of it.
A row's body is exactly a relay message's "events" (tablequeue.service.eventjson)."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import BindParameter, Connection, TextClause, bindparam, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tablequeue.db import rowcount
from tablequeue.models.base import UTCDateTime, utcnow
from tablequeue.outcomes import Event, FloorChanged, Outcome, SiteId
from tablequeue.service import pgseal
from tablequeue.service.eventjson import body, events_from

log = logging.getLogger(__name__)

REPLAY_MAX = 500  # runs `since` returns at most in one call
Bind = Connection | Session

# ---- writing: seal -------------------------------------------------------------------

_AT = bindparam("at", type_=UTCDateTime())
# PostgreSQL: the counter's upsert, whose row lock is held to COMMIT, orders concurrent
# writers; one statement per site. The app's engine sends it with COMMIT (pgseal, which
# has the same statement in psycopg's placeholders); this one is for any other engine.
_SEAL_PG = text(pgseal.SEAL.format(site=":site", at=":at", body=":body")).bindparams(_AT)
# SQLite: its writers are already one at a time (BEGIN IMMEDIATE), so the next number is
# read from the log itself: one statement and one page fewer per write than a counter
# (issue 27's cost). event_counters keeps only the floor: the last number of rows gone
# (trimmed, forgotten, their site removed), so numbers never go back; see _keep_numbers.
# One statement, run on the DBAPI cursor: through SQLAlchemy it cost about 80 µs more a
# write than in SQLite (measured, bench.service_calls; it counts these statements too).
# RETURNING since SQLite 3.35; before it, the number is read back by a second statement.
_RETURNING = sqlite3.sqlite_version_info >= (3, 35)
_SEAL_SQLITE = (
    "INSERT INTO event_log (site_id, seq, at, body) SELECT :site, 1 + max("
    "coalesce((SELECT max(seq) FROM event_log WHERE site_id = :site), 0), "
    "coalesce((SELECT last FROM event_counters WHERE site_id = :site), 0)), :at, :body"
    + (" RETURNING seq" if _RETURNING else ""))
_READ_BACK = "SELECT max(seq) FROM event_log WHERE site_id = :site"
# `at` as SQLAlchemy writes a UTCDateTime on SQLite, so the trim's ranged DELETE compares
# like with like.
# (A TypeDecorator over DateTime always has a processor: bind_processor's None is for
# types that need none.)
_AT_SQLITE = cast(Callable[[datetime], str], UTCDateTime().bind_processor(sqlite_dialect()))


def _dialect(bind: Bind) -> str:
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def _cursor(bind: Bind) -> Any:
    """The DBAPI cursor of the bind's connection (a Session's: the one it flushed on)."""
    connection = bind.connection() if isinstance(bind, Session) else bind
    return connection.connection.cursor()


def _seal_one(bind: Bind, postgres: bool, params: dict[str, Any]) -> int:
    if postgres:
        return int(bind.execute(_SEAL_PG, params).scalar_one())
    cursor = _cursor(bind)
    try:
        cursor.execute(_SEAL_SQLITE, {**params, "at": _AT_SQLITE(params["at"])})
        if not _RETURNING:
            cursor.execute(_READ_BACK, params)
        return int(cursor.fetchone()[0])
    except sqlite3.Error as error:  # as SQLAlchemy would raise it: owners catch its classes
        raise DBAPIError.instance(_SEAL_SQLITE, params, error, sqlite3.Error,
                                  dialect=sqlite_dialect()) from error
    finally:
        cursor.close()


def seal(bind: Bind, events: Sequence[Event]) -> list[Event]:
    """Inside the caller's open write transaction, as its last statements: per site among
    the events (ascending ids) log its events as one row with the site's next number. The
    events, in their order, each with its site's number. Never seal earlier in a
    transaction: business rows first, then the log by ascending site, or PostgreSQL's
    writers could deadlock on the counters (and hold their locks longer)."""
    if not events:
        return []
    if isinstance(bind, Session):
        bind.flush()  # the business rows first: the counter's lock is taken last
    at = utcnow()
    rows = [(site, at, body([e for e in events if e.site == site]))
            for site in sorted({e.site for e in events})]
    connection = bind.connection() if isinstance(bind, Session) else bind
    if pgseal.rides(connection):  # PostgreSQL: with the COMMIT, numbered then
        return pgseal.defer(connection, rows, events)
    postgres = _dialect(bind) == "postgresql"
    numbers = {site: _seal_one(bind, postgres, {"site": site, "at": when, "body": logged})
               for site, when, logged in rows}
    return [replace(e, seq=numbers[e.site]) for e in events]


T = TypeVar("T")


def sealed(bind: Bind, outcome: Outcome[T]) -> Outcome[T]:
    """`seal` for an owner whose events come from a helper (sites.update, lines.choose):
    the outcome with its events numbered; a refusal (no events) as it is."""
    if not outcome.events:
        return outcome
    return replace(outcome, events=seal(bind, outcome.events))


# ---- reading ---------------------------------------------------------------------------

_SITES: BindParameter[list[int]] = bindparam("sites", expanding=True)
_COUNTERS = text("SELECT site_id, last FROM event_counters WHERE site_id IN :sites"
                 ).bindparams(_SITES)
_LOGGED = text("SELECT site_id, max(seq) FROM event_log WHERE site_id IN :sites "
               "GROUP BY site_id").bindparams(_SITES)


def newest(bind: Bind, sites: Iterable[SiteId]) -> dict[SiteId, int]:
    """Each site's last number (0: it never logged). PostgreSQL: its counter. SQLite: the
    newest row, or the floor its trimmed rows left (_keep_numbers)."""
    wanted = sorted(set(sites))
    found = dict.fromkeys(wanted, 0)
    if not wanted:
        return found
    reads = [_COUNTERS] if _dialect(bind) == "postgresql" else [_COUNTERS, _LOGGED]
    for read in reads:
        for site, last in bind.execute(read, {"sites": wanted}):
            found[SiteId(int(site))] = max(found[SiteId(int(site))], int(last))
    return found


def since(bind: Bind, site: SiteId, after: int, upto: int | None = None,
          limit: int = REPLAY_MAX) -> list[tuple[int, list[Event]]] | None:
    """The site's runs numbered after `after` (to `upto` inclusive), in order, at most
    `limit` of them (the first: ask again from the last one's number for more), each with
    its events numbered. [] when nothing is newer. None when exact history is lost: run
    after+1 was trimmed (or its site removed) though a later number exists; then the
    caller falls back to reading the state."""
    if upto is not None and upto <= after:
        return []
    sql = ("SELECT seq, body FROM event_log WHERE site_id = :site AND seq > :after"
           + (" AND seq <= :upto" if upto is not None else "")
           + " ORDER BY seq LIMIT :limit")
    params = {"site": site, "after": after, "upto": upto, "limit": limit}
    found = bind.execute(text(sql), params).all()
    if not found:
        last = newest(bind, [site])[site]
        return None if last > after else []
    if int(found[0][0]) != after + 1:
        return None
    return [(int(seq), events_from(json.loads(text_), int(seq))) for seq, text_ in found]


# ---- trimming and forgetting -------------------------------------------------------------

_TRIM = text("DELETE FROM event_log WHERE at < :cutoff").bindparams(
    bindparam("cutoff", type_=UTCDateTime()))
_FORGET = text("DELETE FROM event_log WHERE site_id IN :sites").bindparams(_SITES)
# SQLite numbers from the log (seal): before rows go, their sites' last numbers are kept
# as the floor. The WHERE is needed: SQLite parses INSERT … SELECT … ON CONFLICT only so.
_FLOOR = ("INSERT INTO event_counters (site_id, last) SELECT site_id, max(seq) "
          "FROM event_log WHERE {where} GROUP BY site_id ON CONFLICT (site_id) "
          "DO UPDATE SET last = max(event_counters.last, excluded.last)")
_FLOOR_TRIM = text(_FLOOR.format(where="at < :cutoff")).bindparams(
    bindparam("cutoff", type_=UTCDateTime()))
_FLOOR_FORGET = text(_FLOOR.format(where="site_id IN :sites")).bindparams(_SITES)


def _keep_numbers(bind: Bind, floor: TextClause, params: dict[str, Any]) -> None:
    """On SQLite, before deleting log rows: their sites' last numbers stay in
    event_counters. PostgreSQL's counters are always current."""
    if _dialect(bind) != "postgresql":
        bind.execute(floor, params)


def trim(bind: Bind, keep_minutes: int) -> int:
    """Delete every row older than `keep_minutes` (one ranged DELETE on ix_event_log_at);
    how many. Numbers never go back: the counters stay (SQLite: keep the floor)."""
    params = {"cutoff": utcnow() - timedelta(minutes=keep_minutes)}
    _keep_numbers(bind, _FLOOR_TRIM, params)
    return rowcount(bind.execute(_TRIM, params))


def forget(bind: Bind, sites: Iterable[SiteId]) -> int:
    """Delete the sites' rows (privacy.delete_visitor: names and emails leave the log too;
    sites.remove, before its rows cascade); screens that ask for them get the state
    instead. How many."""
    wanted = sorted(set(sites))
    if not wanted:
        return 0
    _keep_numbers(bind, _FLOOR_FORGET, {"sites": wanted})
    return rowcount(bind.execute(_FORGET, {"sites": wanted}))


# ---- the door: every published event was sealed ----------------------------------------


class UnsealedError(RuntimeError):
    """Events reached publish without a number: a transaction owner forgot `seal`."""


def unsealed(events: Iterable[Event]) -> list[Event]:
    """The events that should carry a number and do not (FloorChanged never does: the
    floor poll is its source of truth)."""
    return [e for e in events if e.seq == 0 and not isinstance(e, FloorChanged)]


def check(events: Iterable[Event], strict: bool) -> None:
    """At Registry.publish: an unsealed event raises UnsealedError (strict: the tests) or
    is logged as an error (production, where it is still delivered, unnumbered)."""
    missing = unsealed(events)
    if not missing:
        return
    names = ", ".join(sorted({type(e).__name__ for e in missing}))
    if strict:
        raise UnsealedError(f"published without seal: {names}")
    log.error("event log: published without seal (%s); screens may miss it", names)
