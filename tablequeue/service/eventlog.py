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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from sqlalchemy import Connection, bindparam, text
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

_UPSERT = ("INSERT INTO event_counters (site_id, last) VALUES (:site, 1) "
           "ON CONFLICT (site_id) DO UPDATE SET last = event_counters.last + 1")
_AT = bindparam("at", type_=UTCDateTime())
# PostgreSQL: one statement per site, so one round trip.
_SEAL_PG = text(f"WITH n AS ({_UPSERT} RETURNING last) INSERT INTO event_log "
                "(site_id, seq, at, body) SELECT :site, last, :at, :body FROM n "
                "RETURNING seq").bindparams(_AT)
# SQLite: no DML in a CTE, and no RETURNING (SQLite < 3.35 stays served): three statements,
# in process.
_BUMP = text(_UPSERT)
_LOG = text("INSERT INTO event_log (site_id, seq, at, body) SELECT :site, last, :at, :body "
            "FROM event_counters WHERE site_id = :site").bindparams(_AT)
_LAST = text("SELECT last FROM event_counters WHERE site_id = :site")


def _dialect(bind: Bind) -> str:
    if isinstance(bind, Session):
        return bind.get_bind().dialect.name
    return bind.dialect.name


def seal(bind: Bind, events: list[Event]) -> list[Event]:
    """Inside the caller's open write transaction, as its last statements: per site among
    the events (ascending ids) bump its counter and log its events as one row. The events,
    in their order, each with its site's number. Never take a counter earlier in a
    transaction: business rows first, then counters by ascending site, or writers could
    deadlock (and the lock would be held longer)."""
    if not events:
        return events
    if isinstance(bind, Session):
        bind.flush()  # the business rows first: the counter's lock is taken last
    at = utcnow()
    postgres = _dialect(bind) == "postgresql"
    numbers: dict[SiteId, int] = {}
    for site in sorted({e.site for e in events}):
        params = {"site": site, "at": at, "body": _body([e for e in events if e.site == site])}
        if postgres:
            numbers[site] = int(bind.execute(_SEAL_PG, params).scalar_one())
        else:
            bind.execute(_BUMP, params)
            bind.execute(_LOG, params)
            numbers[site] = int(bind.execute(_LAST, params).scalar_one())
    return [replace(e, seq=numbers[e.site]) for e in events]


T = TypeVar("T")


def sealed(bind: Bind, outcome: Outcome[T]) -> Outcome[T]:
    """`seal` for an owner whose events come from a helper (sites.update, lines.choose):
    the outcome with its events numbered; a refusal (no events) as it is."""
    if not outcome.events:
        return outcome
    return replace(outcome, events=seal(bind, outcome.events))


# ---- reading ---------------------------------------------------------------------------

_NEWEST = text("SELECT site_id, last FROM event_counters WHERE site_id IN :sites").bindparams(
    bindparam("sites", expanding=True))


def newest(bind: Bind, sites: Iterable[SiteId]) -> dict[SiteId, int]:
    """Each site's last number (0: it never logged)."""
    wanted = sorted(set(sites))
    found = {SiteId(int(s)): int(n) for s, n in bind.execute(_NEWEST, {"sites": wanted})} \
        if wanted else {}
    return {site: found.get(site, 0) for site in wanted}


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
_FORGET = text("DELETE FROM event_log WHERE site_id IN :sites").bindparams(
    bindparam("sites", expanding=True))


def trim(bind: Bind, keep_minutes: int) -> int:
    """Delete every row older than `keep_minutes` (one ranged DELETE on ix_event_log_at);
    how many. Counters stay: numbers never go back."""
    cutoff = utcnow() - timedelta(minutes=keep_minutes)
    return rowcount(bind.execute(_TRIM, {"cutoff": cutoff}))


def forget(bind: Bind, sites: Iterable[SiteId]) -> int:
    """Delete the sites' rows (privacy.delete_visitor: names and emails leave the log too);
    screens that ask for them get the state instead. How many."""
    wanted = sorted(set(sites))
    if not wanted:
        return 0
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
