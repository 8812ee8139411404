"""Screens that reconnect with `?since=N` (docs/protocol.md, "Catching up"): exactly the
frames a screen that stayed connected got meanwhile, then `mark`; once the log no longer
holds them, `reset`, the full greeting, then `mark`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tablequeue.live import catchup
from tablequeue.live.connection import Connection, Role
from tablequeue.live.rooms import Room
from tablequeue.live.sequencer import Sequencer
from tablequeue.outcomes import SiteId
from tests.kit.client import Client, new_ticket, silent
from tests.kit.follow import code_of, follow, sign_in_with_link, state
from tests.kit.live import LiveServer

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}


def _greeted(client: Client) -> tuple[list[str], int]:
    """A fresh opt-in's greeting: `reset`, today's frames, `mark M`; those frames and M."""
    assert client.recv() == "reset"
    mark, frames = client.until(lambda m: m.startswith("mark "))
    return frames, int(mark.removeprefix("mark "))


def _forget_the_log(server: LiveServer) -> None:
    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM event_log"))
    engine.dispose()


def test_a_display_that_reconnects_with_its_number_gets_exactly_the_call(
        fresh: LiveServer, connect, desk, kiosk) -> None:
    ada = desk("ada", 2)
    t, _ = new_ticket(kiosk, "v@example.org", "Vi Sitor")
    display = connect("/ws/display?since=")
    greeting, seen = _greeted(display)
    assert greeting == ["pick 2"]
    display.close()
    stayed = connect("/ws/display")  # the oracle: a display that never left
    assert stayed.sync() == ["pick 2"]
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    ada.sync()
    live = stayed.sync()
    assert len(live) == 1 and live[0].startswith("claimed ada 2 {")
    assert live[0].endswith('"end":"1970-01-01T00:00:00Z"}')

    back = connect(f"/ws/display?since={seen}")
    assert back.sync() == [*live, f"mark {seen + 1}"]  # no reset, no greeting

    _forget_the_log(fresh)
    again = connect(f"/ws/display?since={seen}")
    assert again.sync() == ["reset", "pick 2", *live, f"mark {seen + 1}"]


def test_a_console_that_reconnects_with_its_number_gets_the_new_it_missed(
        fresh: LiveServer, connect, kiosk) -> None:
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    header = [f"Cookie: {cookie}"]
    console = connect("/ws/staff?since=", header)
    greeting, seen = _greeted(console)
    assert greeting == ["taken"]
    console.close()
    stayed = connect("/ws/staff", header)
    assert stayed.sync() == ["taken"]
    _, raw = new_ticket(kiosk, "v@example.org", "Vi Sitor")
    kiosk.sync()
    assert stayed.sync() == [f"new {raw}"]

    back = connect(f"/ws/staff?since={seen}", header)
    assert back.sync() == [f"new {raw}", f"mark {seen + 1}"]

    _forget_the_log(fresh)
    again = connect(f"/ws/staff?since={seen}", header)
    assert again.sync() == ["reset", f"new {raw}", "taken", f"mark {seen + 1}"]


def test_a_number_the_server_never_reached_gets_a_full_greeting(
        fresh: LiveServer, connect, desk) -> None:
    desk("ada", 1)
    display = connect("/ws/display?since=")
    _, seen = _greeted(display)
    ahead = connect(f"/ws/display?since={seen + 5}")
    assert ahead.sync() == ["reset", "pick 1", f"mark {seen}"]


def test_a_line_aware_console_from_its_first_frame(fresh: LiveServer, connect) -> None:
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    console = connect("/ws/staff?lines=1", [f"Cookie: {cookie}"])
    frames = console.sync()
    assert frames[0].startswith("lines [")
    assert any(f.startswith("serve ") for f in frames)
    assert not any(f.startswith("mark") or f == "reset" for f in frames)


def test_a_phone_that_follows_with_its_number_hears_the_call_it_missed(
        fresh: LiveServer, connect, desk) -> None:
    ada = desk("ada", 2)
    ticket_id, url = sign_in_with_link(fresh, "v@example.org", "Vi Sitor")
    code = code_of(url)
    phone = connect("/ws/visitor")
    assert phone.ask(f"follow {code} 0") == "success follow"  # 0: older than the log
    assert state(phone.recv())["status"] == "waiting"
    mark = phone.recv()
    assert mark.startswith("mark ")
    seen = int(mark.removeprefix("mark "))
    phone.close()
    assert ada.answer(f"accept {ticket_id}") == f"success claimed {ticket_id}"
    ada.sync()

    back = connect("/ws/visitor")
    assert back.ask(f"follow {code} {seen}") == "success follow"
    called = state(back.recv())
    assert (called["status"], called["table"]) == ("serving", 2)
    assert back.recv() == f"mark {seen + 1}"
    assert ada.answer(f"complete {ticket_id}") == f"success complete {ticket_id}"
    assert state(back.recv())["status"] == "served"
    assert back.recv() == f"mark {seen + 2}"


def test_a_seed_phone_never_gets_mark(fresh: LiveServer, desk) -> None:
    ada = desk("ada", 2)
    ticket_id, url = sign_in_with_link(fresh, "v@example.org", "Vi Sitor")
    phone, first = follow(fresh, url)
    assert first["status"] == "waiting"
    assert ada.answer(f"accept {ticket_id}") == f"success claimed {ticket_id}"
    assert state(phone.recv())["status"] == "serving"
    silent(phone)
    phone.close()


def test_a_console_bound_by_pick_after_catching_up_is_told_reset_first(
        fresh: LiveServer, connect, kiosk) -> None:
    token = fresh.add_staff("ada")
    _, raw = new_ticket(kiosk, "v@example.org", "Vi Sitor")
    console = connect("/ws/staff?since=")
    greeting, _ = _greeted(console)
    assert greeting == ["taken"]
    assert console.answer(f"pick 3 {token}") == "success pick 3"
    after = console.sync()
    assert after[:2] == ["reset", f"new {raw}"]
    assert [f.split(" ")[0] for f in after[2:]] == ["mark"]  # the pick's own run


def test_a_line_aware_console_catches_up_with_its_lines_frames(
        fresh: LiveServer, connect, kiosk) -> None:
    fresh.add_staff("ada")
    header = [f"Cookie: {fresh.login('ada')}"]
    console = connect("/ws/staff?since=&lines=1", header)
    greeting, seen = _greeted(console)
    assert greeting[0].startswith("lines [")
    console.close()
    stayed = connect("/ws/staff?lines=1", header)
    stayed.sync()
    _, raw = new_ticket(kiosk, "v@example.org", "Vi Sitor")
    kiosk.sync()
    live = stayed.sync()
    assert live and live[0].startswith("new {") and '"line":' in live[0]

    back = connect(f"/ws/staff?since={seen}&lines=1", header)
    assert back.sync() == [*live, f"mark {seen + 1}"]


# ---- the marks on their own (no server) --------------------------------------------------


class _Socket:
    connected = True

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, data: str | bytes) -> None:
        self.sent.append(str(data))

    def close(self, reason: Any = None, message: str | None = None) -> None:
        pass


class _Relay:
    def before(self, room: Room, n: int) -> None:
        pass

    def after(self, room: Room, n: int, events: list[Any]) -> None:
        pass


class _Registry:
    """What the sequencer and the marks use of a registry: runs of `(conn, text)` write
    `text` to `conn` only."""

    def __init__(self, room: Room) -> None:
        self.room, self.relay = room, _Relay()
        self.after_run = [catchup.marked]
        self.sequencer = Sequencer(self)

    def rooms(self) -> list[Room]:
        return [self.room]

    def deliver_run(self, room: Room, events: list[Any]) -> None:
        for conn, text in events:
            conn.send(text)


def _screen(room: Room, *, marking: bool = True) -> tuple[Connection, _Socket]:
    socket = _Socket()
    conn = Connection(socket, Role.DISPLAY, site=room.site)
    conn.marking = marking
    room.add(conn)
    return conn, socket


def test_a_mark_follows_each_run_that_wrote_and_keep_alive_lifts_a_lagging_one() -> None:
    room = Room(SiteId(1), "main")
    registry = _Registry(room)
    (a, to_a), (b, to_b), (seed, to_seed) = _screen(room), _screen(room), _screen(
        room, marking=False)
    registry.sequencer.anchor(room, 4)
    catchup.mark_now(a, 4)
    catchup.mark_now(b, 4)
    registry.sequencer.offer(room, 5, [(a, "pick 1"), (seed, "pick 1")])
    registry.sequencer.offer(room, 6, [(seed, "pick 2")])  # wrote to no marking screen
    assert to_a.sent == ["mark 4", "pick 1", "mark 5"]
    assert to_b.sent == ["mark 4"]
    assert to_seed.sent == ["pick 1", "pick 2"]
    assert catchup.keep_alive(registry) == 2
    assert to_a.sent[-1] == "mark 6" and to_b.sent[-1] == "mark 6"
    assert catchup.keep_alive(registry) == 0
    assert to_seed.sent == ["pick 1", "pick 2"]
