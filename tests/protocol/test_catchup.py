"""Catching up (docs/protocol.md, "Extensions"): a seed client, which never sends the
handshake query, never gets `mark` or `reset`; one that sends `since` gets them; bad
query values are answered with an error, then a full greeting."""

from __future__ import annotations

import re

import pytest

from tablequeue import protocol
from tests.kit.client import new_ticket, silent
from tests.kit.live import LiveServer

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}
MARK = re.compile(r"mark [0-9]+")


def _extension(frames: list[str]) -> list[str]:
    return [f for f in frames if f == "reset" or f.startswith("mark")]


def test_seed_clients_never_get_mark_or_reset(fresh: LiveServer, connect, desk, kiosk) -> None:
    fresh.add_staff("cy")
    cookie = fresh.login("cy")
    display, tableless = connect("/ws/display"), connect("/ws/staff")
    bound = connect("/ws/staff", [f"Cookie: {cookie}"])
    ada = desk("ada", 3)
    seen = display.sync() + tableless.sync() + bound.sync()
    t, _ = new_ticket(kiosk, "v@example.org", "Vi Sitor")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    assert ada.answer(f"complete {t['id']}") == f"success complete {t['id']}"
    assert ada.answer("unpick") == "success unpick"
    seen += ada.sync() + display.sync() + tableless.sync() + bound.sync() + kiosk.sync()
    assert "pick 3" in seen and "unpick 3" in seen  # the seed frames did come
    assert any(f.startswith("new ") for f in seen)
    assert _extension(seen) == []
    silent(display, tableless, bound, ada.client, kiosk)


def test_a_cookie_console_and_a_display_that_opt_in_get_marks(
        fresh: LiveServer, connect, desk, kiosk) -> None:
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    seed = connect("/ws/display")
    opted = connect("/ws/display?since=")
    console = connect("/ws/staff?since=", [f"Cookie: {cookie}"])
    assert opted.recv() == "reset"
    assert MARK.fullmatch(opted.recv())
    assert console.recv() == "reset"
    assert console.recv() == "taken"
    assert MARK.fullmatch(console.recv())
    t, raw = new_ticket(kiosk, "v@example.org", "Vi Sitor")
    assert console.recv() == f"new {raw}"
    assert MARK.fullmatch(console.recv())
    bob = desk("bob", 2)
    assert bob.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    bob.sync()
    frames = opted.sync()
    assert [f.split(" ")[0] for f in frames] == ["pick", "mark", "claimed", "mark"], frames
    assert _extension(seed.sync()) == []
    silent(seed)


def test_a_bad_since_is_answered_then_greeted_in_full(fresh: LiveServer, connect, desk) -> None:
    desk("ada", 4)
    display = connect("/ws/display?since=seven")
    assert display.recv() == "error since not an event number: seven"
    assert display.recv() == "reset"
    assert display.recv() == "pick 4"
    assert MARK.fullmatch(display.recv())
    assert display.sync() == []


def test_a_bad_lines_value_is_answered_and_ignored(fresh: LiveServer, connect) -> None:
    console = connect("/ws/staff?lines=yes")
    assert console.recv() == "error lines expected 1 or 0: yes"
    assert console.recv() == "taken"
    assert console.sync() == []


def test_a_kiosk_ignores_since(fresh: LiveServer, connect) -> None:
    kiosk = connect("/ws/kiosk?since=5")
    new_ticket(kiosk, "v@example.org", "Vi Sitor")
    silent(kiosk)


@pytest.mark.parametrize(("query", "marking", "since", "lines", "errors"), [
    ({}, False, None, False, ()),
    ({"since": ""}, True, None, False, ()),
    ({"since": "007", "lines": "1"}, True, 7, True, ()),
    ({"since": "-1"}, True, None, False, ("error since not an event number: -1",)),
    ({"since": "1" * 19}, True, None, False, (f"error since not an event number: {'1' * 19}",)),
    ({"lines": "2"}, False, None, False, ("error lines expected 1 or 0: 2",)),
])
def test_the_handshake_query(query: dict[str, str], marking: bool, since: int | None,
                             lines: bool, errors: tuple[str, ...]) -> None:
    assert protocol.handshake(query) == protocol.Handshake(marking, since, lines, errors)


def test_follow_takes_an_optional_event_number_and_nothing_else() -> None:
    words = protocol.VISITOR_COMMANDS
    assert protocol.parse("follow abc", words) == protocol.Follow("abc")
    assert protocol.parse("follow abc 12", words) == protocol.Follow("abc", 12)
    assert protocol.parse("follow abc x", words) == protocol.Follow("abc x")  # no such code
