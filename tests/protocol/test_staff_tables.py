"""/ws/staff, its tables: `taken` for the consoles without one, `pick` and `unpick`, moving
between tables; every reply, error and broadcast of the seed document and the decisions,
checked in the stated order; who receives what, and who must not. Tickets:
test_staff_tickets.py; what binding replays: test_staff_binding.py."""

from __future__ import annotations

import pytest

from tests.kit.client import new_ticket, ticket
from tests.kit.refusals import NOT_ASSIGNED, PICK_TOKEN_INVALID, TABLE_UNAVAILABLE, TOKEN_INVALID

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}


# ---- taken -----------------------------------------------------------------------------


def test_unbound_connection_is_greeted_with_bare_taken_when_no_table_is_taken(fresh, connect):
    assert connect("/ws/staff").recv() == "taken"


def test_taken_on_connect_lists_taken_tables_ascending(fresh, connect, desk):
    desk("ada", 5), desk("bob", 0), desk("cy", 3)
    assert connect("/ws/staff").recv() == "taken 0 3 5"


def test_taken_goes_to_every_tableless_connection_on_each_change(fresh, connect, desk):
    idle = desk("idle")  # unbound
    dropped = desk("dropped", 9)
    assert dropped.answer("unpick") == "success unpick"
    assert dropped.sync() == ["taken"]  # bound, but without a table: after its unpick
    assert idle.sync() == ["taken 9", "taken"]

    ada = desk("ada", 3)
    assert idle.sync() == ["taken 3"]
    assert dropped.sync() == ["taken 3"]
    assert ada.answer(f"pick 7 {ada.token}") == "success pick 7"  # a move changes the set
    ada.sync()
    assert idle.sync() == ["taken 7"]
    assert dropped.sync() == ["taken 7"]
    assert ada.answer("unpick") == "success unpick"
    assert ada.sync() == ["taken"]
    assert idle.sync() == ["taken"]
    assert dropped.sync() == ["taken"]


def test_staff_holding_a_table_get_no_taken(fresh, desk):
    ada = desk("ada", 3)
    bob = desk("bob", 4)
    assert bob.answer("unpick") == "success unpick"
    bob.sync()
    assert ada.sync() == []


def test_repick_of_own_table_changes_nothing_so_sends_no_taken(fresh, connect, desk):
    ada = desk("ada", 3)
    idle, display = desk("idle"), connect("/ws/display")
    assert display.recv() == "pick 3"
    assert ada.answer(f"pick 3 {ada.token}") == "success pick 3"
    assert ada.answer(f"pick 3 {ada.token}") == "success pick 3"
    assert ada.sync() == []
    assert idle.sync() == [] and display.sync() == []


# ---- pick ------------------------------------------------------------------------------


@pytest.mark.parametrize("frame", ["pick 3 not-a-token", "pick 3", "pick", "pick x nonsense",
                                   "pick 999 nonsense"])
def test_pick_without_a_valid_token_is_refused_before_the_table_is_checked(fresh, connect, frame):
    staff = connect("/ws/staff")
    assert staff.recv() == "taken"
    assert staff.answer(frame) == PICK_TOKEN_INVALID


@pytest.mark.parametrize("table", ["-1", "50", "51", "x", "3.0", "0x1", "+3", "",
                                   "99999999999999999999", "\u0663"])
def test_pick_of_a_table_outside_the_range_or_not_a_number_is_not_available(fresh, desk, table):
    ada = desk("ada")
    assert ada.answer(f"pick {table} {ada.token}") == TABLE_UNAVAILABLE


def test_pick_of_the_first_and_last_table(fresh, desk):
    ada, bob = desk("ada"), desk("bob")
    assert ada.answer(f"pick 0 {ada.token}") == "success pick 0"
    assert bob.answer(f"pick 49 {bob.token}") == "success pick 49"  # TABLE_COUNT is 50


def test_pick_of_a_table_someone_holds_is_not_available(fresh, connect, desk):
    desk("ada", 3)
    bob = desk("bob")
    display = connect("/ws/display")
    assert display.recv() == "pick 3"
    assert bob.answer(f"pick 3 {bob.token}") == TABLE_UNAVAILABLE
    assert bob.answer("accept 1") == f"error accept {TOKEN_INVALID}"  # a refused pick binds nobody
    assert display.sync() == []


def test_pick_answers_then_tells_displays_and_tableless_staff(fresh, connect, desk):
    idle, kiosk = desk("idle"), connect("/ws/kiosk")
    display = connect("/ws/display")
    ada = desk("ada")
    assert ada.answer(f"pick 3 {ada.token}") == "success pick 3"
    assert ada.sync() == []  # no `taken` for someone who holds a table
    assert display.sync() == ["pick 3"]
    assert idle.sync() == ["taken 3"]
    assert kiosk.sync() == []


def test_pick_of_a_table_held_on_another_connection_succeeds_again_without_broadcast(
        fresh, connect, desk):
    ada = desk("ada", 3)
    ada.close()  # the table belongs to the staff member, not to the connection
    display, idle = connect("/ws/display"), desk("idle")
    assert display.recv() == "pick 3"
    again = connect("/ws/staff")
    assert again.recv() == "taken 3"
    assert again.answer(f"pick 3 {ada.token}") == "success pick 3"
    assert again.sync() == []
    assert display.sync() == [] and idle.sync() == []


def test_moving_tables_unpicks_the_old_one_then_picks_the_new_one(fresh, connect, desk):
    ada = desk("ada", 3)
    display = connect("/ws/display")
    assert display.recv() == "pick 3"
    assert ada.answer(f"pick 8 {ada.token}") == "success pick 8"
    ada.sync()
    assert display.sync() == ["unpick 3", "pick 8"]
    bob = desk("bob")
    assert bob.answer(f"pick 3 {bob.token}") == "success pick 3"  # the old table is free again


def test_moving_to_a_taken_table_is_refused_and_keeps_the_old_one(fresh, connect, desk):
    ada, bob = desk("ada", 3), desk("bob", 4)
    display = connect("/ws/display")
    assert display.sync() == ["pick 3", "pick 4"]
    assert ada.answer(f"pick 4 {ada.token}") == TABLE_UNAVAILABLE
    assert bob.answer(f"pick 3 {bob.token}") == TABLE_UNAVAILABLE
    assert display.sync() == []
    assert connect("/ws/staff").recv() == "taken 3 4"


def test_moving_while_serving_shows_the_ticket_at_the_new_table(fresh, connect, desk, kiosk):
    ada = desk("ada", 3)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.recv().startswith("new ")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    assert ada.recv().startswith("claimed ")
    display = connect("/ws/display")
    assert display.recv() == "pick 3"
    assert display.recv().startswith("claimed ada 3 ")
    assert ada.answer(f"pick 8 {ada.token}") == "success pick 8"
    ada.sync()
    moved = display.sync()
    assert moved[:2] == ["unpick 3", "pick 8"]
    # Our decision: the ticket in service follows its staff member to the new table.
    assert len(moved) == 3 and moved[2].startswith("claimed ada 8 ")
    assert ticket(moved[2].split(" ", 3)[3])["id"] == t["id"]


# ---- unpick ----------------------------------------------------------------------------


def test_unpick_on_an_unbound_connection_has_no_table(fresh, connect):
    staff = connect("/ws/staff")
    assert staff.recv() == "taken"
    assert staff.answer("unpick") == "error unpick you do not have a table assigned"


def test_unpick_twice_has_no_table_the_second_time(fresh, desk):
    ada = desk("ada", 3)
    assert ada.answer("unpick") == "success unpick"
    assert ada.recv() == "taken"
    assert ada.answer("unpick") == "error unpick you do not have a table assigned"


def test_unpick_answers_then_sends_taken_and_tells_displays(fresh, connect, desk):
    ada, bob = desk("ada", 3), desk("bob", 4)
    idle, display = desk("idle"), connect("/ws/display")
    assert display.sync() == ["pick 3", "pick 4"]
    assert ada.answer("unpick") == "success unpick"
    assert ada.sync() == ["taken 4"]
    assert display.sync() == ["unpick 3"]
    assert idle.sync() == ["taken 4"]
    assert bob.sync() == []


def test_after_unpick_the_connection_stays_bound(fresh, desk, kiosk):
    ada, bob = desk("ada", 3), desk("bob", 4)
    assert ada.answer("unpick") == "success unpick"
    assert ada.recv() == "taken 4"
    t, raw = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.recv() == f"new {raw}"
    assert ada.answer(f"accept {t['id']}") == "error accept you do not have a table chosen"
    assert ada.answer(f"complete {t['id']}") == f"error complete {NOT_ASSIGNED}"
    assert bob.recv() == f"new {raw}"
    assert bob.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    assert ada.sync() == [f"claimed {bob.recv().removeprefix('claimed ')}"]
    assert ada.answer("pick 5") == PICK_TOKEN_INVALID  # bound by a token: give it again
    assert ada.answer(f"pick 5 {ada.token}") == "success pick 5"
