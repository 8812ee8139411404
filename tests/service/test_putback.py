"""`requeue ID` (put back) on /ws/staff: only by the staff member serving the ticket, in
`complete`'s order of checks, at most three times; the ticket keeps its place in line."""

from __future__ import annotations

from datetime import UTC

from tests.kit.client import new_ticket, ticket
from tests.kit.database import rows
from tests.kit.races import at_once

SERVER_ENV = {"RATE_LIMITS": "off"}

NOT_ASSIGNED = "error requeue you are not assigned to any table"
NO_TICKET = "error requeue ticket id does not exist"
FINISHED = "error requeue the ticket has already been completed or cancelled"
NOT_OWNER = "error requeue you do not own this ticket"
LIMIT = "error requeue the ticket has already been put back 3 times"


def serve(desk_, t: dict) -> None:
    assert desk_.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    desk_.sync()


def test_put_back_returns_the_ticket_to_its_place_in_line(fresh, connect, desk, kiosk):
    tickets = [new_ticket(kiosk, f"v{n}@example.org", f"Visitor {n}") for n in range(3)]
    ada, bob, idle = desk("ada", 3), desk("bob", 4), desk("idle")
    display = connect("/ws/display")
    display.drain()
    first, raw = tickets[0]
    serve(ada, first)
    bob.sync(), display.sync()

    assert ada.answer(f"requeue {first['id']}") == f"success requeue {first['id']}"
    # The original ticket exactly: start kept, staff and end empty again.
    assert ada.sync() == [f"new {raw}"]
    assert bob.sync() == [f"new {raw}"]
    assert display.sync() == ["cancel 3"]
    assert idle.sync() == []  # bound to nobody: no visitor data, as ever
    assert rows(fresh, "SELECT status, staff_id, table_number, requeue_count FROM tickets "
                       "WHERE id = :i", i=first["id"]) == [("waiting", None, None, 1)]
    # A console binding now lists it first again: the oldest waiting ticket.
    late = desk("late", 5)
    assert [ticket(m.removeprefix("new "))["id"] for m in late.replay] == [
        t["id"] for t, _ in tickets]
    # Anyone may accept it again; the put-back holder is free to take the next one.
    assert bob.answer(f"accept {first['id']}") == f"success claimed {first['id']}"
    assert ada.answer(f"accept {tickets[1][0]['id']}") == f"success claimed {tickets[1][0]['id']}"


def test_order_of_checks(fresh, connect, desk, kiosk):
    (waiting, _), (served, _), (done, _), (other, _) = [
        new_ticket(kiosk, f"c{n}@example.org", f"Check {n}") for n in range(4)]
    unbound = desk("nobody")
    assert unbound.answer(f"requeue {served['id']}") == NOT_ASSIGNED
    ada = desk("ada", 1)
    bob = desk("bob", 2)
    serve(ada, served)
    serve(bob, other)
    assert ada.answer(f"requeue {done['id']}") == NOT_OWNER  # still waiting
    assert bob.answer(f"complete {other['id']}") == f"success complete {other['id']}"
    serve(bob, done)
    assert bob.answer(f"complete {done['id']}") == f"success complete {done['id']}"
    for bad in ["", "abc", "-1", "99999999999999999999", "123456"]:
        assert ada.answer(f"requeue {bad}".rstrip()) == NO_TICKET
    assert ada.answer(f"requeue {done['id']}") == FINISHED
    assert ada.answer(f"requeue {waiting['id']}") == NOT_OWNER  # waiting: owned by nobody
    serve(bob, waiting)
    assert ada.answer(f"requeue {waiting['id']}") == NOT_OWNER  # someone else's
    # No table (left it while serving): the first check, before the ticket's.
    assert ada.answer("unpick") == "success unpick"
    assert ada.answer(f"requeue {served['id']}") == NOT_ASSIGNED
    assert ada.answer(f"pick 1 {ada.token}") == "success pick 1"
    assert ada.answer(f"requeue {served['id']}") == f"success requeue {served['id']}"


def test_at_most_three_put_backs_then_the_reply_says_so(fresh, desk, kiosk):
    t, _ = new_ticket(kiosk, "bounce@example.org", "Bounced Visitor")
    ada = desk("ada", 0)
    for _ in range(3):
        serve(ada, t)
        assert ada.answer(f"requeue {t['id']}") == f"success requeue {t['id']}"
    serve(ada, t)
    assert ada.answer(f"requeue {t['id']}") == LIMIT
    assert ada.sync() == []
    assert rows(fresh, "SELECT status, requeue_count FROM tickets WHERE id = :i",
                i=t["id"]) == [("serving", 3)]
    assert ada.answer(f"complete {t['id']}") == f"success complete {t['id']}"


def test_a_seed_display_and_seed_staff_see_only_seed_messages(fresh, connect, desk, kiosk):
    t, raw = new_ticket(kiosk, "seed@example.org", "Seed Visitor")
    ada, bob = desk("ada", 7), desk("bob", 8)
    display = connect("/ws/display")
    display.drain()
    serve(ada, t)
    bob.sync()
    assert [m.split(" ", 1)[0] for m in display.sync()] == ["claimed"]
    assert ada.answer(f"requeue {t['id']}") == f"success requeue {t['id']}"
    ada.sync()
    assert bob.sync() == [f"new {raw}"]
    assert display.sync() == ["cancel 7"]


ROUNDS = 15


def test_requeue_and_complete_of_one_ticket_race_exactly_one_wins(fresh, connect, desk, kiosk):
    ada = desk("ada", 0)
    second = connect("/ws/staff")
    second.recv()
    assert second.answer(f"pick 0 {ada.token}") == "success pick 0"  # ada's other console
    outcomes = {"requeue": 0, "complete": 0}
    for round_ in range(ROUNDS):
        t, _ = new_ticket(kiosk, f"race{round_}@example.org", f"Racer {round_}")
        serve(ada, t)
        second.sync()
        replies = at_once([ada.client, second], [f"requeue {t['id']}", f"complete {t['id']}"])
        won = [r for r in replies if r.startswith("success ")]
        assert len(won) == 1, replies
        status = rows(fresh, "SELECT status FROM tickets WHERE id = :i", i=t["id"])[0][0]
        if won[0].startswith("success requeue"):
            # complete lost against a waiting ticket: not (any more) its owner's
            assert replies[1] == "error complete you do not own this ticket"
            assert status == "waiting"
            outcomes["requeue"] += 1
            serve(ada, t)
            assert ada.answer(f"complete {t['id']}") == f"success complete {t['id']}"
        else:
            assert replies[0] == FINISHED
            assert status == "completed"
            outcomes["complete"] += 1
        ada.sync(), second.sync()
    assert sum(outcomes.values()) == ROUNDS
    assert rows(fresh, "SELECT count(*) FROM tickets WHERE status != 'completed'") == [(0,)]


def test_a_relay_resync_clears_a_put_back_ticket_like_the_live_cancel() -> None:
    """After a relay gap a worker's displays are brought up to date
    (tablequeue.live.relay.resync): a ticket put back meanwhile leaves its table with
    `cancel T`, as it did live, and the table stays open (it was never left)."""
    from datetime import datetime

    from tablequeue.live.relay.resync import Picture, Truth, display_messages
    from tablequeue.outcomes import SiteId, TablesChanged, TicketView

    waiting = TicketView(7, "", "Vera", "", datetime(2026, 12, 5, 9, tzinfo=UTC),
                         None, "waiting")
    changed = TablesChanged(frozenset({1}), (3,), site=SiteId(1))
    picture = Picture(tables={3: 7}, changed=changed)
    truth = Truth(waiting=[waiting], at_tables={}, changed=changed,
                  mentioned={7: waiting}, table_count=10)
    assert display_messages(picture, truth, redact_email=True) == ["cancel 3"]
