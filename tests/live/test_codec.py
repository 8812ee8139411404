"""The relay's JSON (tablequeue.live.relay.codec): every event type crosses intact, and
the bytes on the wire are those other workers of the same version read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest

from tablequeue.live.relay import codec
from tablequeue.outcomes import (
    Event,
    FloorChanged,
    LinesChanged,
    ServeChanged,
    SessionsRevoked,
    SiteId,
    TableAway,
    TableCountChanged,
    TablePicked,
    TablesChanged,
    TableUnpicked,
    TicketClaimed,
    TicketCreated,
    TicketEnded,
    TicketMarked,
    TicketRequeued,
    TicketShown,
    TicketTransferred,
    TicketView,
    TicketWithdrawn,
)

S = SiteId(3)
T = TicketView(7, "a@b.org", "Vera", "s1", datetime(2026, 12, 5, 9, tzinfo=UTC),
               datetime(2026, 12, 5, 9, 30, tzinfo=UTC), "done", line=2, priority="age")
EVERY: list[Event] = [
    TicketCreated(T, site=S), TicketClaimed(T, 4, site=S), TicketShown(T, 5, site=S),
    TicketEnded(T, 4, False, site=S), TablePicked(1, site=S), TableUnpicked(1, site=S),
    TablesChanged(frozenset({1, 2}), (3, 4), site=S),
    SessionsRevoked(frozenset({"h1", "h2"}), (5,), site=S), TicketWithdrawn(T, site=S),
    TableCountChanged(12, site=S), TicketRequeued(T, None, site=S), TableAway(4, True, site=S),
    FloorChanged(site=S), TicketTransferred(T, 3, 1, site=S), TicketMarked(T, site=S),
    LinesChanged(site=S), ServeChanged(9, (1, 2), site=S),
]


def test_every_event_type_is_listed_here() -> None:
    assert {type(e) for e in EVERY} == set(get_args(Event))


@pytest.mark.parametrize("event", EVERY, ids=lambda e: type(e).__name__)
def test_each_event_crosses_intact(event: Event) -> None:
    assert codec.decode(codec.encode([event], origin="o")) == ("o", 0, [event])


def test_the_wire_bytes_are_unchanged() -> None:
    assert codec.encode([TicketClaimed(T, 4, site=S)], origin="o") == (
        '{"v":2,"o":"o","events":[{"type":"TicketClaimed","site":3,"ticket":{"id":7,'
        '"email":"a@b.org","name":"Vera","staff":"s1","start":"2026-12-05T09:00:00+00:00",'
        '"end":"2026-12-05T09:30:00+00:00","status":"done","line":2,"priority":"age"},'
        '"table":4}]}')


def test_garbage_is_a_codec_error() -> None:
    for payload in (b"{", b'{"v":1,"events":[]}', b'{"v":2,"events":[{"type":"Nope"}]}',
                    b'{"v":2,"events":[{"type":"TablePicked","site":1}]}'):
        with pytest.raises(codec.CodecError):
            codec.decode(payload)


def test_a_numbered_run_carries_its_number_and_reads_back_numbered() -> None:
    run = [TicketClaimed(T, 4, site=S, seq=12), TablesChanged(frozenset({4}), (4,), site=S,
                                                              seq=12)]
    wire = codec.encode(run, origin="o")
    assert wire.startswith('{"v":2,"o":"o","n":12,"events":[')
    origin, n, events = codec.decode(wire)
    assert (origin, n, [e.seq for e in events]) == ("o", 12, [12, 12])
    assert events == run


def test_a_message_without_a_number_is_unnumbered() -> None:
    assert codec.decode(b'{"v":2,"o":"x","events":[{"type":"FloorChanged","site":3}]}') == (
        "x", 0, [FloorChanged(site=S)])
