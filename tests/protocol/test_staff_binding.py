"""/ws/staff, binding: what a console is told when a `pick` binds it to a staff member
(the waiting tickets, then its own claim), and binding to another staff member's token."""

from __future__ import annotations

from tests.kit.client import new_ticket, ticket
from tests.kit.database import status_of

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}


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
