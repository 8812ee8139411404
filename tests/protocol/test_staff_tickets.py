"""/ws/staff, its tickets: `accept`, `cancel` and `complete` in the order of their checks,
and a ticket in service when its staff member leaves the table; every reply, error and
broadcast of the seed document and the decisions, checked in the stated order; who
receives what, and who must not. Tables: test_staff_tables.py."""

from __future__ import annotations

import json

import pytest

from tests.kit.client import EPOCH, new_ticket, ticket
from tests.kit.database import status_of
from tests.kit.refusals import FINISHED, NO_TICKET, NOT_ASSIGNED, NOT_OWNER, TOKEN_INVALID

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}

NON_NUMERIC_IDS = ["", "abc", "-1", "1.0", "+1", "0x1", "1e3", "99999999999999999999"]


def ticket_json(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def claimed_at(message: str) -> tuple[str, int, dict]:
    word, staff, table, raw = message.split(" ", 3)
    assert word == "claimed"
    return staff, int(table), ticket(raw)


# ---- accept, in the order of checks ------------------------------------------------------


@pytest.mark.parametrize("arg", ["1", "999999", "abc", ""])
def test_accept_on_an_unbound_connection_is_an_invalid_token(fresh, connect, kiosk, arg):
    new_ticket(kiosk, "v@example.org", "Vera")
    staff = connect("/ws/staff")
    assert staff.recv() == "taken"
    assert staff.answer(f"accept {arg}".strip()) == f"error accept {TOKEN_INVALID}"


def test_accept_without_a_table_comes_before_no_such_ticket(fresh, desk):
    ada = desk("ada", 3)
    assert ada.answer("unpick") == "success unpick"
    assert ada.recv() == "taken"
    assert ada.answer("accept 424242") == "error accept you do not have a table chosen"
    assert ada.answer("accept abc") == "error accept you do not have a table chosen"


@pytest.mark.parametrize("arg", ["424242", *NON_NUMERIC_IDS])
def test_accept_of_a_missing_or_non_numeric_ticket_does_not_exist(fresh, desk, kiosk, arg):
    ada = desk("ada", 3)
    new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.recv().startswith("new ")
    assert ada.answer(f"accept {arg}".rstrip()) == f"error accept {NO_TICKET}"


def test_accept_of_a_ticket_someone_serves_is_now_claimed(fresh, desk, kiosk):
    ada, bob = desk("ada", 3), desk("bob", 4)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    bob.until(lambda m: m.startswith("claimed "))
    assert bob.answer(f"accept {t['id']}") == "error accept this ticket is now claimed"
    # Being served comes before "already serving another": the claimer gets the same answer.
    assert ada.answer(f"accept {t['id']}") == "error accept this ticket is now claimed"


@pytest.mark.parametrize("end", ["complete", "cancel"])
def test_accept_of_a_finished_ticket(fresh, desk, kiosk, end):
    ada, bob = desk("ada", 3), desk("bob", 4)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    assert ada.answer(f"{end} {t['id']}") == f"success {end} {t['id']}"
    assert bob.answer(f"accept {t['id']}") == f"error accept {FINISHED}"
    assert ada.answer(f"accept {t['id']}") == f"error accept {FINISHED}"


def test_accept_checks_the_ticket_before_the_one_at_a_time_rule(fresh, desk, kiosk):
    ada = desk("ada", 3)
    done, _ = new_ticket(kiosk, "a@example.org", "Done")
    serving, _ = new_ticket(kiosk, "b@example.org", "Serving")
    assert ada.answer(f"accept {done['id']}") == f"success claimed {done['id']}"
    assert ada.answer(f"cancel {done['id']}") == f"success cancel {done['id']}"
    assert ada.answer(f"accept {serving['id']}") == f"success claimed {serving['id']}"
    assert ada.answer(f"accept {done['id']}") == f"error accept {FINISHED}"
    assert ada.answer("accept 424242") == f"error accept {NO_TICKET}"


def test_one_ticket_at_a_time(fresh, desk, kiosk):
    ada = desk("ada", 3)
    first, _ = new_ticket(kiosk, "a@example.org", "First")
    second, _ = new_ticket(kiosk, "b@example.org", "Second")
    assert ada.answer(f"accept {first['id']}") == f"success claimed {first['id']}"
    assert ada.answer(f"accept {second['id']}") == "error accept you are already serving a ticket"
    assert ada.answer(f"complete {first['id']}") == f"success complete {first['id']}"
    assert ada.answer(f"accept {second['id']}") == f"success claimed {second['id']}"


def test_accept_answers_then_broadcasts_claimed_to_bound_staff_and_displays(
        fresh, connect, desk, kiosk):
    ada, bob = desk("ada", 3), desk("bob", 4)
    tableless = desk("cy", 5)
    assert tableless.answer("unpick") == "success unpick"
    idle, display, other_kiosk = desk("idle"), connect("/ws/display"), connect("/ws/kiosk")
    assert display.sync() == ["pick 3", "pick 4"]
    t, raw = new_ticket(kiosk, "Vera@Example.org", "Vera Rubin")
    kiosk.sync()
    for bound in (ada, bob):
        assert bound.sync() == [f"new {raw}"]
    assert tableless.sync() == ["taken 3 4", f"new {raw}"]

    ada.send(f"accept {t['id']}")
    assert ada.recv() == f"success claimed {t['id']}"
    claimed = ada.recv()  # its own claim comes after its success
    assert claimed.startswith("claimed ")
    got = ticket(claimed.removeprefix("claimed "))
    assert got == {**t, "staff": "ada"}
    assert got["end"] == EPOCH and got["email"] == "Vera@Example.org"
    ada.sync()
    assert bob.sync() == [claimed]
    assert tableless.sync() == [claimed]
    assert display.sync() == [f"claimed ada 3 {ticket_json({**got, 'email': ''})}"]
    assert idle.sync() == [] and kiosk.sync() == [] and other_kiosk.sync() == []


# ---- cancel and complete, in the order of checks ---------------------------------------------


ENDS = ["cancel", "complete"]


@pytest.mark.parametrize("end", ENDS)
@pytest.mark.parametrize("arg", ["1", "424242", "abc", ""])
def test_end_on_an_unbound_connection_is_not_assigned(fresh, connect, kiosk, end, arg):
    new_ticket(kiosk, "v@example.org", "Vera")
    staff = connect("/ws/staff")
    assert staff.recv() == "taken"
    assert staff.answer(f"{end} {arg}".rstrip()) == f"error {end} {NOT_ASSIGNED}"


@pytest.mark.parametrize("end", ENDS)
def test_end_without_a_table_is_not_assigned_even_for_ones_own_ticket(fresh, desk, kiosk, end):
    ada = desk("ada", 3)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    assert ada.answer("unpick") == "success unpick"
    assert ada.answer(f"{end} {t['id']}") == f"error {end} {NOT_ASSIGNED}"
    assert ada.answer(f"{end} 424242") == f"error {end} {NOT_ASSIGNED}"


@pytest.mark.parametrize("end", ENDS)
@pytest.mark.parametrize("arg", ["424242", *NON_NUMERIC_IDS])
def test_end_of_a_missing_or_non_numeric_ticket_does_not_exist(fresh, desk, end, arg):
    ada = desk("ada", 3)
    assert ada.answer(f"{end} {arg}".rstrip()) == f"error {end} {NO_TICKET}"


@pytest.mark.parametrize("end", ENDS)
@pytest.mark.parametrize("first", ENDS)
def test_end_of_a_finished_ticket_comes_before_ownership(fresh, desk, kiosk, end, first):
    ada, bob = desk("ada", 3), desk("bob", 4)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    assert ada.answer(f"{first} {t['id']}") == f"success {first} {t['id']}"
    assert ada.answer(f"{end} {t['id']}") == f"error {end} {FINISHED}"
    assert bob.answer(f"{end} {t['id']}") == f"error {end} {FINISHED}"


@pytest.mark.parametrize("end", ENDS)
def test_end_of_a_waiting_ticket_is_not_owned(fresh, desk, kiosk, end):
    ada = desk("ada", 3)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"{end} {t['id']}") == f"error {end} {NOT_OWNER}"
    assert status_of(fresh, t["id"])[0] == "waiting"


@pytest.mark.parametrize("end", ENDS)
def test_end_of_someone_elses_ticket_is_not_owned(fresh, desk, kiosk, end):
    ada, bob = desk("ada", 3), desk("bob", 4)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    assert bob.answer(f"{end} {t['id']}") == f"error {end} {NOT_OWNER}"
    assert status_of(fresh, t["id"])[:2] == ("serving", "ada")


@pytest.mark.parametrize("end,status", [("cancel", "cancelled"), ("complete", "completed")])
def test_end_answers_then_tells_only_displays(fresh, connect, desk, kiosk, end, status):
    ada, bob = desk("ada", 3), desk("bob", 4)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    idle, display = desk("idle"), connect("/ws/display")
    assert display.sync()[-1].startswith("claimed ada 3 ")
    ada.sync(), bob.sync()
    assert ada.answer(f"{end} {t['id']}") == f"success {end} {t['id']}"
    ada.sync()
    assert display.sync() == [f"{end} 3"]
    assert bob.sync() == [] and idle.sync() == [] and kiosk.sync() == []
    state, staff, ended = status_of(fresh, t["id"])
    assert (state, staff) == (status, "ada") and ended is not None
    # The table stays held and the staff member is free for the next ticket.
    nxt, _ = new_ticket(kiosk, "w@example.org", "Wendy")
    assert ada.answer(f"accept {nxt['id']}") == f"success claimed {nxt['id']}"


# ---- numbers and leaving the table while serving --------------------------------------------


def test_leading_zeros_are_the_plain_number_in_replies(fresh, desk, kiosk):
    ada = desk("ada")
    assert ada.answer(f"pick 003 {ada.token}") == "success pick 3"
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"accept {t['id']:06d}") == f"success claimed {t['id']}"
    assert ada.answer(f"complete 000{t['id']}") == f"success complete {t['id']}"


def test_leaving_the_table_while_serving_keeps_the_ticket_for_the_next_table(
        fresh, connect, desk, kiosk):
    ada = desk("ada", 3)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    ada.sync()
    display = connect("/ws/display")
    assert display.sync()[0] == "pick 3"
    assert ada.answer("unpick") == "success unpick"
    ada.sync()
    assert display.sync() == ["unpick 3"]
    assert connect("/ws/display").sync() == []  # not shown while no table is held
    assert status_of(fresh, t["id"])[:2] == ("serving", "ada")
    assert ada.answer(f"complete {t['id']}") == f"error complete {NOT_ASSIGNED}"
    assert ada.answer(f"pick 5 {ada.token}") == "success pick 5"
    ada.sync()
    back = display.sync()
    assert back[0] == "pick 5" and len(back) == 2
    assert claimed_at(back[1]) == ("ada", 5, {**t, "staff": "ada", "email": ""})
    assert ada.answer(f"complete {t['id']}") == f"success complete {t['id']}"
    ada.sync()
    assert display.sync() == ["complete 5"]
