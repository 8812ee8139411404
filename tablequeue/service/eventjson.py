"""Events as JSON: the body of an event-log row (tablequeue.service.eventlog) and a relay
message's "events" (tablequeue.live.relay.codec) are the same list. Here, in service, because
service may not import live."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, get_args, get_origin, get_type_hints

from tablequeue.outcomes import Event, TicketView

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


def body(events: Sequence[Event]) -> str:
    """An event-log row's body: events_json, compact."""
    return json.dumps(events_json(events), separators=(",", ":"), ensure_ascii=False)
