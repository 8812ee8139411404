"""Bad days: the database goes away and comes back, a graceful stop closes every websocket
with 1001, and a crash (SIGKILL) loses no ticket whose `success new` was sent."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
import websocket

from tests.kit.client import Client
from tests.kit.database import sqlite_write_lock
from tests.kit.frames import close_frame_code
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

# The crash test floods `new` on purpose; throttles are tested in security/test_ws.
SERVER_ENV = {"RATE_LIMITS": "off"}
UNAVAILABLE = "the queue is temporarily unavailable, try again"


@contextmanager
def database_down(server: LiveServer) -> Iterator[None]:
    """Make the database refuse the server's work, then give it back."""
    if server.database_url.startswith("sqlite"):
        with sqlite_write_lock(server):  # every transaction of the server times out
            yield
        return
    name = server.database_url.rsplit("/", 1)[1]
    admin = sa.create_engine(server.database_url.rsplit("/", 1)[0] + "/postgres",
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        try:
            yield
        finally:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    admin.dispose()


def test_database_unavailable_gives_clear_errors_and_recovers(fresh: LiveServer, connect) -> None:
    token = fresh.add_staff("ada")
    web = WebClient(fresh.port)
    assert web.login("ada").status == 302
    kiosk, staff = connect("/ws/kiosk"), connect("/ws/staff")
    assert staff.recv() == "taken"
    assert staff.ask(f"pick 1 {token}") == "success pick 1"
    staff.drain()  # the bind after `success pick` reads the database too
    with database_down(fresh):
        # SQLite: the busy timeout (5 s) runs once per waiting transaction, the session
        # sweep's included, so replies may take several of them.
        kiosk.send("new down@example.org Dee Own")
        assert kiosk.recv(timeout=60) == f"error new {UNAVAILABLE}"
        staff.send("accept 1")
        assert staff.recv(timeout=60) == f"error accept {UNAVAILABLE}"
        page = web.get("/staff/")
        assert page.status == 503 and "database is unavailable" in page.body
        assert "Traceback" not in page.body
    # Back: the same connections work again, nothing to restart.
    reply = kiosk.ask("new up@example.org You Pee")
    assert reply.startswith("success new ")
    ticket = json.loads(reply.removeprefix("success new "))
    assert staff.recv().startswith("new ")
    assert staff.ask(f"accept {ticket['id']}") == f"success claimed {ticket['id']}"
    assert web.get("/staff/").status == 200


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_closes_every_websocket_with_1001(fresh: LiveServer, sig: int) -> None:
    token = fresh.add_staff("ada")
    clients = [fresh.connect(path) for path in ("/ws/staff", "/ws/kiosk", "/ws/display")]
    bound = fresh.connect("/ws/staff")
    bound.recv()
    assert bound.ask(f"pick 2 {token}") == "success pick 2"
    clients.append(bound)
    try:
        fresh.process.send_signal(sig)  # type: ignore[union-attr]  (to the arbiter)
        assert [close_frame_code(c) for c in clients] == [1001] * 4
    finally:
        for client in clients:
            client.close()
        fresh.stop()
        fresh.start()


def test_sigkill_during_a_burst_of_new_loses_no_acknowledged_ticket(fresh: LiveServer) -> None:
    acknowledged: list[dict[str, object]] = []
    lock = threading.Lock()

    def kiosk(n: int) -> None:
        client = fresh.connect("/ws/kiosk")
        try:
            for i in range(500):  # bounded; the crash ends it long before
                reply = client.ask(f"new k{n}-{i}@example.org Visitor {n} {i}")
                assert reply.startswith("success new "), reply
                with lock:
                    acknowledged.append(json.loads(reply.removeprefix("success new ")))
        except (websocket.WebSocketException, OSError):
            pass  # the server died mid-burst
        finally:
            client.close()

    threads = [threading.Thread(target=kiosk, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 100 and time.monotonic() < deadline:
        time.sleep(0.01)
    fresh.stop(signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=30)
    assert len(acknowledged) >= 100
    fresh.start()
    engine = fresh.engine()
    with engine.connect() as conn:
        stored = {row.id: (row.email, row.name) for row in
                  conn.execute(sa.text("SELECT id, email, name FROM tickets"))}
    engine.dispose()
    missing = [t for t in acknowledged if stored.get(t["id"]) != (t["email"], t["name"])]
    assert missing == []


def test_a_bug_in_a_handler_answers_internal_error_and_keeps_the_connection(
        fresh: LiveServer, connect) -> None:
    kiosk = connect("/ws/kiosk")

    def line_switch(value: str | None) -> None:
        engine = fresh.engine()
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM settings WHERE key = 'line'"))
            if value is not None:
                conn.execute(sa.text(
                    "INSERT INTO settings (site_id, key, value)"
                    " SELECT id, 'line', :v FROM sites WHERE slug = 'main'"), {"v": value})
        engine.dispose()

    # A corrupt setting (the site's line switch, read by `new`): the handler raises where
    # no refusal was foreseen.
    line_switch("open not-a-time")
    try:
        assert kiosk.ask("new ada@example.org Ada") == "error new internal error"
        assert kiosk.ask("query nobody@example.org") == "error query visitor email does not exist"
    finally:
        line_switch(None)
    assert kiosk.ask("new ada@example.org Ada").startswith("success new ")  # same connection
    log = fresh.log()
    found = re.search(r"request ([0-9a-f]{12}): 'new' failed on /ws/kiosk", log)
    assert found, "the failure was not logged with a request id"
    assert "ValueError" in log[found.start():]  # the traceback is in the log, not the reply


def test_a_screen_that_cannot_be_greeted_is_told_to_come_back(fresh: LiveServer, connect,
                                                              desk, opened) -> None:
    """Issue 12, defect 1: a greeting that cannot be read closes the connection with 1013
    (try again later) instead of keeping it open and silent for good."""
    desk("ada", 3)
    with database_down(fresh):
        # SQLite: every transaction, the worker's own background reads included, waits out
        # the busy timeout (5 s) first, blocking the worker: handshakes are slow too.
        for path in ("/ws/display", "/ws/staff"):
            opened.append(Client(fresh.url(path), timeout=60))
            assert opened[-1].close_code(timeout=60) == 1013
    # Back: the client's reconnect is greeted as usual.
    assert connect("/ws/display").recv() == "pick 3"
    assert connect("/ws/staff").recv() == "taken 3"


def test_a_stopping_server_refuses_or_closes_every_new_websocket(fresh: LiveServer) -> None:
    """Issue 12, defect 3: from SIGTERM on, a websocket opened while the workers still
    accept is refused (503) or closed with 1001, never greeted and then dropped (1006)."""
    opened: list[Client] = []
    refused: list[str] = []
    done = threading.Event()

    def open_many() -> None:
        for n in range(5000):  # bounded; the server's exit ends it long before
            if done.is_set():
                return
            try:
                opened.append(fresh.connect(("/ws/staff", "/ws/display")[n % 2]))
            except websocket.WebSocketBadStatusException as error:
                refused.append(str(error.status_code))
            except (OSError, websocket.WebSocketException) as error:
                refused.append(type(error).__name__)  # no websocket: the port is closed

    opener = threading.Thread(target=open_many)
    opener.start()
    try:
        deadline = time.monotonic() + 60
        while len(opened) < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        fresh.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]  (to the arbiter)
        fresh.process.wait(timeout=30)  # type: ignore[union-attr]
        done.set()
        opener.join(timeout=30)
        codes = [client.close_code(timeout=15) for client in opened]
        assert len(opened) >= 20
        assert [c for c in codes if c != 1001] == [], f"{codes.count(None)} dropped without a close"
    finally:
        done.set()
        for client in opened:
            client.close()
        fresh.stop()
        fresh.start()
