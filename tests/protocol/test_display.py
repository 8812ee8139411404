"""/ws/display: the replay on connect, every broadcast a display receives, and that a
public screen never shows an email (unless the operator turns that off)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.client import EPOCH, new_ticket, ticket
from tests.kit.live import LiveServer

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}


def claimed_parts(message: str) -> tuple[str, int, dict]:
    word, staff, table, raw = message.split(" ", 3)
    assert word == "claimed"
    return staff, int(table), ticket(raw)


def serve(desk, kiosk, name: str, table: int, email: str, visitor: str) -> dict:
    """A staff member at `table` serving a fresh ticket; the ticket as claimed."""
    staff = desk(name, table)
    t, _ = new_ticket(kiosk, email, visitor)
    assert staff.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    staff.sync()
    return {**t, "staff": name}


def test_a_display_connecting_to_an_empty_room_gets_nothing(fresh, connect):
    assert connect("/ws/display").sync() == []


def test_display_replay_is_picks_ascending_then_tickets_in_service(fresh, connect, desk, kiosk):
    bob = serve(desk, kiosk, "bob", 7, "bob.visitor@example.org", "Bea")
    desk("cy", 0)
    ada = serve(desk, kiosk, "ada", 2, "ada.visitor@example.org", "Abe")
    desk("dee", 5)
    waiting, _ = new_ticket(kiosk, "w@example.org", "Still Waiting")
    display = connect("/ws/display")
    replay = display.sync()
    assert replay[:4] == ["pick 0", "pick 2", "pick 5", "pick 7"]
    assert len(replay) == 6
    shown = [claimed_parts(m) for m in replay[4:]]
    assert [(s, t) for s, t, _ in shown] == [("ada", 2), ("bob", 7)]
    assert shown[0][2] == {**ada, "email": ""}
    assert shown[1][2] == {**bob, "email": ""}
    assert all(v["id"] != waiting["id"] for _, _, v in shown)


def test_display_replay_leaves_out_finished_tickets_and_tables_given_up(
        fresh, connect, desk, kiosk):
    t = serve(desk, kiosk, "ada", 2, "a@example.org", "Abe")
    bob = desk("bob", 3)
    assert bob.answer("unpick") == "success unpick"
    carol = desk("carol", 4)
    t2, _ = new_ticket(kiosk, "c@example.org", "Cid")
    assert carol.answer(f"accept {t2['id']}") == f"success claimed {t2['id']}"
    assert carol.answer(f"cancel {t2['id']}") == f"success cancel {t2['id']}"
    replay = connect("/ws/display").sync()
    assert replay[:2] == ["pick 2", "pick 4"]
    assert [claimed_parts(m)[2]["id"] for m in replay[2:]] == [t["id"]]


def test_display_receives_the_life_of_a_ticket_with_the_email_redacted(
        fresh, connect, desk, kiosk):
    display = connect("/ws/display")
    ada = desk("ada", 3)
    assert display.sync() == ["pick 3"]
    t, _ = new_ticket(kiosk, "secret@example.org", "Vera")
    kiosk.sync()
    assert display.sync() == []  # `new` is for staff only
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    ada.sync()
    (message,) = display.sync()
    staff, table, shown = claimed_parts(message)
    assert (staff, table) == ("ada", 3)
    assert shown == {**t, "staff": "ada", "email": ""}
    assert shown["end"] == EPOCH
    assert "secret@example.org" not in message
    assert ada.answer(f"complete {t['id']}") == f"success complete {t['id']}"
    ada.sync()
    assert display.sync() == ["complete 3"]


def test_display_receives_cancel_with_the_table(fresh, connect, desk, kiosk):
    ada = desk("ada", 6)
    t, _ = new_ticket(kiosk, "a@example.org", "Abe")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    ada.sync()
    display = connect("/ws/display")
    assert display.sync()[0] == "pick 6"
    assert ada.answer(f"cancel {t['id']}") == f"success cancel {t['id']}"
    ada.sync()
    assert display.sync() == ["cancel 6"]


def test_display_receives_pick_and_unpick_but_never_taken(fresh, connect, desk):
    display = connect("/ws/display")
    ada = desk("ada", 3)
    assert ada.answer("unpick") == "success unpick"
    assert ada.answer(f"pick 5 {ada.token}") == "success pick 5"
    ada.sync()
    assert display.sync() == ["pick 3", "unpick 3", "pick 5"]


@pytest.mark.parametrize("frame,word", [("pick 1", "pick"), ("new a@b.org Ada", "new"),
                                        ("accept 1", "accept"), ("hello", "hello")])
def test_every_command_is_unknown_on_the_display(fresh, connect, desk, frame, word):
    display = connect("/ws/display")
    assert display.answer(frame) == f"error {word} unknown command"
    desk("ada", 3)
    assert display.sync() == ["pick 3"]  # and it keeps receiving


def test_several_displays_receive_the_same(fresh, connect, desk, kiosk):
    displays = [connect("/ws/display") for _ in range(3)]
    serve(desk, kiosk, "ada", 3, "a@example.org", "Abe")
    seen = [d.sync() for d in displays]
    assert seen[0][0] == "pick 3" and len(seen[0]) == 2
    assert seen[1] == seen[0] and seen[2] == seen[0]


def test_hundreds_of_idle_displays_all_hear_one_broadcast(fresh, connect, desk):
    """Idle connections hold no greenlet (tablequeue/live/detached.py): each must still wake."""
    displays = [connect("/ws/display") for _ in range(300)]
    desk("ada", 2)
    for display in displays:
        assert display.recv() == "pick 2"


# ---- the operator may show emails on the display ----------------------------------------


@pytest.fixture(scope="module")
def showing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(Path(tmp_path_factory.mktemp("showing")), {"DISPLAY_SHOWS_EMAIL": "on"})
    live.start()
    yield live
    live.close()


def test_display_shows_emails_when_configured(showing):
    token = showing.add_staff("ada")
    staff, kiosk = showing.connect("/ws/staff"), showing.connect("/ws/kiosk")
    try:
        assert staff.answer(f"pick 3 {token}") == "success pick 3"
        t, _ = new_ticket(kiosk, "shown@example.org", "Vera")
        assert staff.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
        staff.sync()
        display = showing.connect("/ws/display")
        replay = display.sync()
        assert claimed_parts(replay[1])[2]["email"] == "shown@example.org"
        assert staff.answer(f"pick 4 {token}") == "success pick 4"
        staff.sync()
        moved = display.sync()
        assert claimed_parts(moved[2])[2]["email"] == "shown@example.org"
        display.close()
    finally:
        staff.close()
        kiosk.close()
