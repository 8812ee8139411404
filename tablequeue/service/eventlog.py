"""The event log (issue 27, docs/design-27.md §1): every change screens see, written as a
numbered row of its site's log in the transaction of the change.

Each transaction owner ends its block with `seal(bind, events)`: per site (ascending ids),
the counter is bumped by an upsert, whose row lock is held to COMMIT, and one row holds the
site's events as JSON. So a site's numbers follow commit order without holes (a rollback
undoes its bump), and a worker that hears n+2 after n finds n+1 in the log. Live code reads
with `since`/`newest` through db.read_only(); `trim` keeps EVENT_KEEP_MINUTES of it.
The event <-> JSON half of the relay's codec lives here (service may not import live): a
row's body is exactly a relay message's "events"."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast, get_args, get_origin, get_type_hints

from sqlalchemy import BindParameter, Connection, bindparam, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.orm import Session

from tablequeue.db import rowcount
from tablequeue.models.base import UTCDateTime, utcnow
from tablequeue.outcomes import Event, FloorChanged, Outcome, SiteId, TicketView

log = logging.getLogger(__name__)

REPLAY_MAX = 500  # runs `since` returns at most in one call
Bind = Connection | Session

# ---- events as JSON ------------------------------------------------------------------

_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in get_args(Event)}


class EventFormatError(ValueError):
    """JSON that is no event this version knows (another version, or garbage)."""


def _ticket_out(ticket: TicketView) -> dict[str, Any]:
    return {
        "id": ticket.id, "email": ticket.email, "name": ticket.name, "staff": ticket.staff,
        "start": ticket.start.isoformat(),
        "end": ticket.end.isoformat() if ticket.end else None,
        "status": ticket.status, "line": ticket.line, "priority": ticket.priority,
    }


def _ticket_in(raw: dict[str, Any]) -> TicketView:
    return TicketView(
        id=int(raw["id"]), email=str(raw["email"]), name=str(raw["name"]),
        staff=str(raw["staff"]), start=datetime.fromisoformat(raw["start"]),
        end=datetime.fromisoformat(raw["end"]) if raw["end"] else None,
        status=str(raw["status"]),
        # Absent from an older worker's message: no line known, no priority.
        line=int(raw.get("line") or 0), priority=raw.get("priority"),
    )


def _event_out(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(event).__name__}
    for f in fields(event):
        if f.name == "seq":  # the run's number travels once, beside its events
            continue
        value = getattr(event, f.name)
        if isinstance(value, TicketView):
            value = _ticket_out(value)
        elif isinstance(value, (frozenset, tuple)):
            value = sorted(value)
        out[f.name] = value
    return out


Reader = Callable[[Any], Any]


def _readers(cls: type[Event]) -> tuple[tuple[str, Reader | None], ...]:
    """Each field of `cls` but seq, and what turns its JSON into the field's value."""
    readers: list[tuple[str, Reader | None]] = []
    for name, hint in get_type_hints(cls).items():
        if name == "seq":
            continue
        if hint is TicketView:
            readers.append((name, _ticket_in))
        elif get_origin(hint) in (frozenset, tuple):
            readers.append((name, get_origin(hint)))
        else:
            readers.append((name, None))
    return tuple(readers)


# Read once: get_type_hints evaluates every annotation each time it is called, and every
# worker with a room for a site decodes every event of that site.
_READERS = {name: (cls, _readers(cls)) for name, cls in _TYPES.items()}


def _event_in(raw: dict[str, Any], seq: int) -> Event:
    known = _READERS.get(raw.get("type", ""))
    if known is None:
        raise EventFormatError(f"unknown event type {raw.get('type')!r}")
    cls, readers = known
    try:
        return cls(seq=seq, **{name: raw[name] if read is None else read(raw[name])
                               for name, read in readers})
    except (KeyError, TypeError, AttributeError) as exc:
        raise EventFormatError(f"unreadable {cls.__name__}: {exc!r}") from exc


def events_json(events: Iterable[Event]) -> list[dict[str, Any]]:
    """Each event's fields (seq left out) plus "type"; datetimes ISO 8601 with offset."""
    return [_event_out(e) for e in events]


def events_from(data: Any, seq: int = 0) -> list[Event]:
    """The events `events_json` wrote, each numbered `seq`; EventFormatError if unreadable."""
    if not isinstance(data, list):
        raise EventFormatError("events are not a list")
    return [_event_in(raw, seq) for raw in data]


def _body(events: Sequence[Event]) -> str:
    return json.dumps(events_json(events), separators=(",", ":"), ensure_ascii=False)


# ---- writing: seal -------------------------------------------------------------------

_AT = bindparam("at", type_=UTCDateTime())
# PostgreSQL: the counter's upsert, whose row lock is held to COMMIT, orders concurrent
# writers; one statement per site, so one round trip.
_UPSERT = ("INSERT INTO event_counters (site_id, last) VALUES (:site, 1) "
           "ON CONFLICT (site_id) DO UPDATE SET last = event_counters.last + 1")
_SEAL_PG = text(f"WITH n AS ({_UPSERT} RETURNING last) INSERT INTO event_log "
                "(site_id, seq, at, body) SELECT :site, last, :at, :body FROM n "
                "RETURNING seq").bindparams(_AT)
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
    postgres = _dialect(bind) == "postgresql"
    numbers: dict[SiteId, int] = {}
    for site in sorted({e.site for e in events}):
        params = {"site": site, "at": at, "body": _body([e for e in events if e.site == site])}
        numbers[site] = _seal_one(bind, postgres, params)
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
    return [(int(seq), events_from(json.loads(body), int(seq))) for seq, body in found]


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


def _keep_numbers(bind: Bind, floor: Any, params: dict[str, Any]) -> None:
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
