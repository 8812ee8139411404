"""Every worker delivers a site's numbered runs in order and fills what it missed from the
event log (issue 27, docs/design-27.md §2: tablequeue/live/sequencer.py, eventwatch.py).

A change committed and never published (here: committed by this test process, which has
no relay, exactly what a host killed between its commit and its publish leaves) reaches
every screen through the idle poll; a run that overtakes one that was never published
waits for it to be read from the log. Run 1: SQLite, one worker (the in-process relay);
run 2: PostgreSQL, three workers and Redis."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.kit.client import Client
from tests.kit.database import default_site_id
from tests.kit.live import LiveServer

# The module's server does not poll in time: what it catches up, a hole's fill did.
SERVER_ENV = {"EVENT_POLL_SECONDS": "30"}


@pytest.fixture(scope="module")
def polling(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that polls the log every second (the default)."""
    live = LiveServer(Path(tmp_path_factory.mktemp("polling"))).start()
    yield live
    live.close()


def _seated(server: LiveServer, opened: list[Client], name: str, table: int) -> Client:
    token = server.add_staff(name)
    console = server.connect("/ws/staff")
    opened.append(console)
    assert console.recv().startswith("taken")
    assert console.answer(f"pick {table} {token}") == f"success pick {table}"
    console.sync()
    return console


def _site(server: LiveServer) -> int:
    engine = server.engine()
    try:
        with engine.connect() as conn:
            return default_site_id(server, conn)
    finally:
        engine.dispose()


def _silently_pick(server: LiveServer, token: str, table: int) -> None:
    """`pick` committed, its events never published."""
    from tablequeue.service import tables
    from tablequeue.service.identity import hash_token

    with server.app.app_context():
        assert tables.pick(hash_token(token), table, site=_site(server)).refusal is None


def _silently_new(server: LiveServer, email: str, name: str) -> int:
    """A visitor signed in, its `new` never published."""
    from tablequeue.service import tickets

    with server.app.app_context():
        outcome = tickets.new(email, name, site=_site(server))
        assert outcome.refusal is None, outcome.refusal
        assert outcome.value is not None
        return outcome.value.id


def test_a_change_committed_and_never_published_reaches_every_screen(
        polling: LiveServer, opened: list[Client]) -> None:
    polling.reset()
    display = polling.connect("/ws/display")
    opened.append(display)
    display.sync()
    console = _seated(polling, opened, "ada", 1)
    display.until(lambda m: m == "pick 1")
    token = polling.add_staff("bob")

    started = time.monotonic()
    _silently_pick(polling, token, 3)
    display.until(lambda m: m == "pick 3", timeout=2)
    ticket = _silently_new(polling, "ann@example.org", "Ann")
    message, _ = console.until(lambda m: m.startswith("new "), timeout=2)
    assert f'"id":{ticket},' in message
    assert time.monotonic() - started < 4  # within a poll each, not by a resync by chance
    assert display.sync() == []  # and nothing twice
    assert console.sync() == []


def test_a_run_that_overtakes_an_unpublished_one_waits_for_it(
        fresh: LiveServer, connect: Callable[[str], Client]) -> None:
    """n+1 committed and never published, then n+2 published live: every screen hears n+1
    (read from the log when n+2 showed the hole) before n+2, long before any poll."""
    opened: list[Client] = []
    console = _seated(fresh, opened, "ada", 1)
    display = connect("/ws/display")
    display.sync()
    kiosk = connect("/ws/kiosk")
    try:
        started = time.monotonic()
        quiet = _silently_new(fresh, "ann@example.org", "Ann")
        reply = kiosk.ask("new bob@example.org Bob")
        assert reply.startswith("success new "), reply
        first, _ = console.until(lambda m: m.startswith("new "), timeout=2)
        second, _ = console.until(lambda m: m.startswith("new "), timeout=2)
        assert f'"id":{quiet},' in first
        assert '"name":"Bob"' in second
        assert time.monotonic() - started < 5  # the hole's fill, not the 30 s poll
        assert console.sync() == []
    finally:
        for client in opened:
            client.close()
