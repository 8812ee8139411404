"""The visitor hub in process, on a real database: one query per event batch whatever the
number of phones, and only phones whose position changed are sent anything."""

from __future__ import annotations

from datetime import datetime, timezone  # noqa: UP017
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import event

from tablequeue.broadcast import Connection, Registry, Role
from tablequeue.outcomes import TicketClaimed, TicketView
from tablequeue.visitor_hub import Hub
from tests.live import LiveServer


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


def test_one_query_per_batch_and_only_moved_phones(live: LiveServer) -> None:
    from tablequeue.extensions import db
    from tablequeue.service import tickets

    app = live.app
    with app.app_context():
        ids = [tickets.new(f"p{i}@example.org", f"P {i}").value.id for i in range(300)]
        registry = Registry(display_shows_email=False)
        hub = Hub(registry, app)
        hub._started = True  # flushed by hand here, not by the background flusher
        phones = []
        for ticket_id in ids[1:]:
            conn = Connection(Sink(), Role.VISITOR)  # type: ignore[arg-type]
            registry.add(conn)
            hub.add(conn, ticket_id, "code")
            phones.append(conn)
        hub.flush()  # first positions (and the estimate's inputs)
        first = [len(c.ws.got) for c in phones]  # type: ignore[attr-defined]
        assert first == [1] * len(phones)
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        # The first in line is claimed (changed in the database, announced as the event).
        engine_now = datetime.now(timezone.utc)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE tickets SET status='serving' WHERE id={ids[0]}")
        view = TicketView(ids[0], "", "", "s", engine_now, None, "serving")
        hub.on_events([TicketClaimed(view, 1)])
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
        later = tickets.new("late@example.org", "Late").value
        hub.on_events([TicketClaimed(later, 2)])
        assert not hub._dirty.is_set()
        hub.on_events([TicketClaimed(view, 1)])
        assert hub._dirty.is_set()
