"""The visitor hub in process, on a real database: one query per event batch whatever the
number of phones, and only phones whose position changed are sent anything."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tablequeue.live.connection import Connection, Role
from tablequeue.live.follow.hub import Hub
from tablequeue.live.registry import Registry
from tablequeue.outcomes import SiteId, TicketClaimed, TicketView
from tests.kit.live import LiveServer


class Sink:
    """The far end of a phone's websocket: what was sent to it."""

    connected = True

    def __init__(self) -> None:
        self.got: list[str] = []

    def send(self, message: str) -> None:
        self.got.append(message)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(Path(tmp_path_factory.mktemp("hub")))  # migrated, never started
    yield server
    server.close()


def _site(app: Any) -> SiteId:
    from tablequeue.service.directory import directory_of

    return directory_of(app).default().id


def test_one_query_per_batch_and_only_moved_phones(live: LiveServer) -> None:
    from tablequeue.extensions import db
    from tablequeue.service import tickets

    app = live.app
    with app.app_context():
        site = _site(app)
        ids = [tickets.new(f"p{i}@example.org", f"P {i}", site=site).value.id
               for i in range(300)]
        registry = Registry(display_shows_email=False)
        hub = Hub(registry, app)
        hub._started = True  # flushed by hand here, not by the background flusher
        phones = _phones_on(hub, registry, ids[1:], site)
        hub.flush()  # first positions (and the estimate's inputs)
        first = [len(c.ws.got) for c in phones]  # type: ignore[attr-defined]
        assert first == [1] * len(phones)
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        # The first in line is claimed (changed in the database, announced as the event).
        engine_now = datetime.now(UTC)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE tickets SET status='serving' WHERE id={ids[0]}")
        view = TicketView(ids[0], "", "", "s", engine_now, None, "serving")
        hub.on_events([TicketClaimed(view, 1, site=site)])
        hub.flush()
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1, selects  # 299 phones, one query
        assert [len(c.ws.got) for c in phones] == [2] * len(phones)
        assert '"ahead":0' in phones[0].ws.got[-1]  # type: ignore[attr-defined]
        # Nothing moved: a second flush sends nobody anything.
        hub.flush()
        assert [len(c.ws.got) for c in phones] == [2] * len(phones)
        # A claim behind every followed ticket moves no one: the hub is not even woken.
        hub._dirty.clear()
        later = tickets.new("late@example.org", "Late", site=site).value
        hub.on_events([TicketClaimed(later, 2, site=site)])
        assert not hub._dirty.is_set()
        hub.on_events([TicketClaimed(view, 1, site=site)])
        assert hub._dirty.is_set()


def _in_app(app: Any, work: Callable[[], None]) -> None:
    """A greenlet does not inherit the spawner's app context (the flusher has its own)."""
    with app.app_context():
        work()


def _phones_on(hub: Hub, registry: Registry, ticket_ids: list[int],
               site: SiteId) -> list[Connection]:
    """Phones following these tickets of `site`, each in the site's room as a phone is once
    it follows (live/follow/handlers.py)."""
    phones = []
    for ticket_id in ticket_ids:
        conn = Connection(Sink(), Role.VISITOR)  # type: ignore[arg-type]
        registry.add(conn)
        registry.move(conn, site)
        hub.add(conn, ticket_id, "code")
        phones.append(conn)
    return phones


def test_a_flush_runs_in_turns_that_let_other_greenlets_in(live: LiveServer) -> None:
    """Under gevent a flush of many phones hands the loop back between its turns (here a
    turn of no time at all): another greenlet, a kiosk's command say, runs while the flush
    is half done, and the flush still tells every phone once."""
    import gevent

    from tablequeue.service import tickets

    app = live.app
    with app.app_context():
        site = _site(app)
        ids = [tickets.new(f"t{i}@example.org", f"T {i}", site=site).value.id
               for i in range(200)]
        registry = Registry(display_shows_email=False)
        hub = Hub(registry, app, budget=0.0)
        hub._started = True
        phones = _phones_on(hub, registry, ids, site)

        def told() -> int:
            return sum(1 for c in phones if c.ws.got)  # type: ignore[attr-defined]

        progress: list[int] = []

        def kiosk() -> None:  # what it finds each time it gets the loop
            while not flusher.dead:
                progress.append(told())
                gevent.sleep(0)

        flusher = gevent.spawn(_in_app, app, hub.flush)
        other = gevent.spawn(kiosk)
        gevent.joinall([flusher, other], raise_error=True)
    assert any(0 < seen < len(phones) for seen in progress), progress
    assert [len(c.ws.got) for c in phones] == [1] * len(phones)  # type: ignore[attr-defined]


def test_an_event_during_a_flush_is_not_undone_by_what_the_flush_read(live: LiveServer) -> None:
    """The flush reads the line, then sends in turns; a ticket claimed meanwhile is told
    `serving` by its event, and the flush's older `waiting` must not follow it, even in
    a resync flush (which overrides what a phone was sent)."""
    import gevent

    from tablequeue.service import tickets

    app = live.app
    with app.app_context():
        site = _site(app)
        views = [tickets.new(f"e{i}@example.org", f"E {i}", site=site).value
                 for i in range(50)]
        registry = Registry(display_shows_email=False)
        hub = Hub(registry, app, budget=0.0)
        hub._started = True
        phones = _phones_on(hub, registry, [v.id for v in views], site)
        hub.on_resync(site)

        def claim_the_last_once_the_flush_has_begun() -> None:
            while not phones[0].ws.got:  # type: ignore[attr-defined]
                gevent.sleep(0)
            hub.on_events([TicketClaimed(views[-1], 7, site=site)])

        flusher = gevent.spawn(_in_app, app, hub.flush)
        other = gevent.spawn(claim_the_last_once_the_flush_has_begun)
        gevent.joinall([flusher, other], raise_error=True)
    last = phones[-1].ws.got  # type: ignore[attr-defined]
    assert last and '"status":"serving"' in last[-1] and '"table":7' in last[-1], last
    assert all(len(c.ws.got) == 1 for c in phones[:-1])  # type: ignore[attr-defined]


@pytest.mark.parametrize("ahead,minutes", [(0, None), (3, 7), (4999, 1)])
def test_a_flushed_position_is_the_same_message_as_any_other_state(ahead: int,
                                                                  minutes: int | None) -> None:
    from tablequeue import protocol
    from tablequeue.outcomes import PhoneState

    state = PhoneState(12345, "waiting", ahead=ahead, minutes=minutes)
    assert protocol.visitor_waiting(12345, ahead, minutes) == protocol.visitor_state(state)
