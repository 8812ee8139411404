"""Events as JSON, so the Redis relay can carry them between processes and hosts.

One relay message is one command's events for one site, in order:
`{"v": 2, "o": ORIGIN, "n": N, "events": [...]}`. "n" is the run's number in the site's
event log (absent or 0: unnumbered, such as the FloorChanged nudge or an older worker's);
workers of version 2 that predate it ignore it. The events' JSON is the event log's
(tablequeue.service.eventjson.events_json): each event's fields plus `"type"`."""

from __future__ import annotations

import json

from tablequeue.outcomes import Event
from tablequeue.service.eventjson import events_from, events_json

VERSION = 2  # 2: every event names its site (its channel says it too)


class CodecError(ValueError):
    """A relay message this version cannot read (another version, or garbage)."""


def encode(events: list[Event], origin: str = "") -> str:
    """`origin` lets the publishing worker recognise its own message when it comes back.
    The events are one site's run: their number (seq, the same for all) goes as "n"."""
    message: dict[str, object] = {"v": VERSION, "o": origin}
    n = events[0].seq if events else 0
    if n:
        message["n"] = n
    message["events"] = events_json(events)
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def decode(payload: str | bytes) -> tuple[str, int, list[Event]]:
    """The origin, the run's number (0: unnumbered) and the events (each numbered with it)
    of one relay message."""
    try:
        message = json.loads(payload)
        if message.get("v") != VERSION:
            raise CodecError(f"relay message version {message.get('v')!r}, expected {VERSION}")
        n = int(message.get("n") or 0)
        return str(message.get("o", "")), n, events_from(message["events"], n)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise CodecError(f"unreadable relay message: {exc}") from exc
