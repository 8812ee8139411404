"""Events as JSON, so the Redis relay can carry them between processes and hosts.

One relay message is one command's events, in order: `{"v": 1, "o": ORIGIN, "events": [...]}`. Each
event is its dataclass's fields plus `"type"`; datetimes are ISO 8601 with offset."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any, get_args, get_origin, get_type_hints

from tablequeue.outcomes import Event, TicketView

VERSION = 2  # 2: every event names its site (its channel says it too)
_TYPES: dict[str, type[Event]] = {cls.__name__: cls for cls in get_args(Event)}


class CodecError(ValueError):
    """A relay message this version cannot read (another version, or garbage)."""


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
        value = getattr(event, f.name)
        if isinstance(value, TicketView):
            value = _ticket_out(value)
        elif isinstance(value, (frozenset, tuple)):
            value = sorted(value)
        out[f.name] = value
    return out


Reader = Callable[[Any], Any]


def _readers(cls: type[Event]) -> tuple[tuple[str, Reader | None], ...]:
    """Each field of `cls` and what turns its JSON into the field's value (None: as is)."""
    readers: list[tuple[str, Reader | None]] = []
    for name, hint in get_type_hints(cls).items():
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


def _event_in(raw: dict[str, Any]) -> Event:
    known = _READERS.get(raw.get("type", ""))
    if known is None:
        raise CodecError(f"unknown event type {raw.get('type')!r}")
    cls, readers = known
    return cls(**{name: raw[name] if read is None else read(raw[name]) for name, read in readers})


def encode(events: list[Event], origin: str = "") -> str:
    """`origin` lets the publishing worker recognise its own message when it comes back."""
    return json.dumps({"v": VERSION, "o": origin, "events": [_event_out(e) for e in events]},
                      separators=(",", ":"), ensure_ascii=False)


def decode(payload: str | bytes) -> tuple[str, list[Event]]:
    """The origin and the events of one relay message."""
    try:
        message = json.loads(payload)
        if message.get("v") != VERSION:
            raise CodecError(f"relay message version {message.get('v')!r}, expected {VERSION}")
        return str(message.get("o", "")), [_event_in(raw) for raw in message["events"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(f"unreadable relay message: {exc}") from exc
