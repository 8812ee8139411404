"""/ws/staff: every reply, error and broadcast of the seed document and the decisions,
checked in the stated order; who receives what, and who must not."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.kit.client import EPOCH, new_ticket, ticket
from tests.kit.live import LiveServer

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}

TOKEN_INVALID = "your session token was found to be invalid. please relogin"
PICK_TOKEN_INVALID = "error pick the provided token does not belong to any staff member"
TABLE_UNAVAILABLE = "error pick the chosen table is not available"
NOT_ASSIGNED = "you are not assigned to any table"
NO_TICKET = "ticket id does not exist"
FINISHED = "the ticket has already been completed or cancelled"
NOT_OWNER = "you do not own this ticket"
NON_NUMERIC_IDS = ["", "abc", "-1", "1.0", "+1", "0x1", "1e3", "99999999999999999999"]


def ticket_json(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def status_of(server: LiveServer, ticket_id: int) -> tuple[str, str | None, object]:
    """(status, staff username, ended_at) straight from the database."""
    engine = server.engine()
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT t.status, s.username, t.ended_at FROM tickets t "
                "LEFT JOIN staff s ON s.id = t.staff_id WHERE t.id = :id"
            ),
            {"id": ticket_id},
        ).one()
    engine.dispose()
    return row[0], row[1], row[2]


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


# ---- replay on bind ------------------------------------------------------------------------


def test_binding_replays_waiting_tickets_oldest_first_then_ones_own_claim(
        fresh, connect, desk, kiosk):
    ada, bob = desk("ada", 3), desk("bob", 4)
    tickets = [new_ticket(kiosk, f"v{i}@example.org", f"Visitor {i}") for i in range(5)]
    (t0, _), (t1, _), (t2, _), (t3, _), (t4, _) = tickets
    assert ada.answer(f"accept {t1['id']}") == f"success claimed {t1['id']}"
    assert bob.answer(f"accept {t3['id']}") == f"success claimed {t3['id']}"
    assert bob.answer(f"complete {t3['id']}") == f"success complete {t3['id']}"
    ada.sync()

    again = connect("/ws/staff")
    assert again.recv() == "taken 3 4"
    assert again.answer(f"pick 3 {ada.token}") == "success pick 3"
    replay = again.sync()
    waiting = [raw for t, raw in tickets if t["id"] in (t0["id"], t2["id"], t4["id"])]
    assert replay[:3] == [f"new {raw}" for raw in waiting]
    assert len(replay) == 4 and replay[3].startswith("claimed ")
    assert ticket(replay[3].removeprefix("claimed ")) == {**t1, "staff": "ada"}


def test_binding_with_nothing_waiting_replays_nothing(fresh, desk):
    assert desk("ada", 3).replay == []


def test_binding_replays_without_duplicates_while_tickets_arrive(fresh, connect, desk, kiosk):
    """Tickets created around the moment of binding arrive exactly once each."""
    token = fresh.add_staff("ada")
    for round_ in range(5):
        staff = connect("/ws/staff")
        assert staff.recv().startswith("taken")
        staff.send(f"pick 3 {token}")
        created = [new_ticket(kiosk, f"r{round_}x{i}@example.org", "Racer")[0]["id"]
                   for i in range(3)]
        staff.reply()
        kiosk.sync()  # every `new` the kiosk caused has gone out
        ids = [ticket(m.removeprefix("new "))["id"] for m in staff.sync() if m.startswith("new ")]
        assert len(ids) == len(set(ids)), ids
        assert set(created) <= set(ids)
        staff.close()


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


def claimed_at(message: str) -> tuple[str, int, dict]:
    word, staff, table, raw = message.split(" ", 3)
    assert word == "claimed"
    return staff, int(table), ticket(raw)


def test_pick_with_another_staff_members_token_rebinds_the_connection(fresh, connect, desk, kiosk):
    ada, bob = desk("ada", 3), desk("bob", 4)
    t, raw = new_ticket(kiosk, "v@example.org", "Vera")
    assert bob.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    waiting, waiting_raw = new_ticket(kiosk, "w@example.org", "Wendy")
    kiosk.sync()
    ada.sync()
    # The console now speaks for bob: his table, his replay, his ticket.
    assert ada.answer(f"pick 4 {bob.token}") == "success pick 4"
    replay = ada.sync()
    assert replay[0] == f"new {waiting_raw}"
    assert len(replay) == 2 and ticket(replay[1].removeprefix("claimed ")) == {**t, "staff": "bob"}
    assert ada.answer(f"complete {t['id']}") == f"success complete {t['id']}"
    assert ada.answer(f"accept {waiting['id']}") == f"success claimed {waiting['id']}"
    assert status_of(fresh, waiting["id"])[:2] == ("serving", "bob")
    assert connect("/ws/staff").recv() == "taken 3 4"  # ada still holds table 3
