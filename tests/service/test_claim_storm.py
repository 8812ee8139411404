"""Claim storms (issue 16): a losing `accept`, and a `complete`/`cancel`/`requeue` of a
ticket that is over, is answered from one read when the worker already saw the ticket
taken, without the database's write lock; the database still decides every answer.

The proof that the read path was taken: the tests hold the write lock themselves (SQLite
`BEGIN IMMEDIATE`, PostgreSQL `LOCK TABLE tickets IN EXCLUSIVE MODE`, which still lets
reads through). A command that wanted to write would wait for it (SQLite: its busy timeout,
then `unavailable`; PostgreSQL: until released); one answered from the read replies at
once, in the documented order of checks."""

from __future__ import annotations

from tests.kit.client import new_ticket
from tests.kit.database import rows
from tests.kit.races import CLAIMED, UNDER_LOCK, at_once, write_locked
from tests.kit.refusals import FINISHED

SERVER_ENV = {"RATE_LIMITS": "off"}


def claimed_by(owner, ticket_id: int, *observers) -> None:
    """`owner` claims the ticket; every observer has heard of it (its worker saw the claim)."""
    assert owner.answer(f"accept {ticket_id}") == f"success claimed {ticket_id}"
    for observer in observers:
        observer.until(lambda m: m.startswith("claimed {") and f'"id":{ticket_id},' in m)


def test_order_of_checks_from_a_worker_that_saw_the_claim(fresh, connect, desk):
    kiosk = connect("/ws/kiosk")
    ada, bob, cy, di, ed = (desk(n, t) for n, t in
                            (("ada", 1), ("bob", 2), ("cy", 3), ("di", 4), ("ed", 5)))
    served, _ = new_ticket(kiosk, "served@example.org", "Served Visitor")
    done, _ = new_ticket(kiosk, "done@example.org", "Done Visitor")
    claimed_by(ada, served["id"], bob, cy, di, ed)
    claimed_by(bob, done["id"], ada, cy, di, ed)
    assert bob.answer(f"complete {done['id']}") == f"success complete {done['id']}"
    assert cy.answer("away") == "success away"
    assert di.answer("unpick") == "success unpick"
    fresh.flask("staff", "revoke", "ed")  # revoked in the database; the event may lag
    for client in (ada, bob, cy, di, ed):
        client.sync()
    with write_locked(fresh):
        assert bob.answer(f"accept {served['id']}", UNDER_LOCK) == CLAIMED
        assert ada.answer(f"accept {done['id']}", UNDER_LOCK) == f"error accept {FINISHED}"
        # Before the ticket: away, then no table, then the token.
        assert cy.answer(f"accept {served['id']}", UNDER_LOCK) == \
            "error accept you are away from your table"
        assert di.answer(f"accept {served['id']}", UNDER_LOCK) == \
            "error accept you do not have a table chosen"
        assert ed.answer(f"accept {served['id']}", UNDER_LOCK) == \
            "error accept your session token was found to be invalid. please relogin"
        # A ticket that is over: finished before "not yours", for everyone.
        for word in ("complete", "cancel", "requeue"):
            assert bob.answer(f"{word} {done['id']}", UNDER_LOCK) == f"error {word} {FINISHED}"
            assert ada.answer(f"{word} {done['id']}", UNDER_LOCK) == f"error {word} {FINISHED}"
            assert di.answer(f"{word} {done['id']}", UNDER_LOCK) == \
                f"error {word} you are not assigned to any table"
    # The write path still decides what the read cannot: not the owner of one in service.
    assert bob.answer(f"complete {served['id']}") == "error complete you do not own this ticket"
    assert rows(fresh, "SELECT status FROM tickets WHERE id = :i", i=served["id"]) == [("serving",)]


def test_a_fresh_worker_answers_the_same_then_learns(fresh, connect, desk):
    """Cold: a restarted server has seen nothing; its first refusal comes from the write
    path, and what that refusal showed lets the next one come from the read."""
    kiosk = connect("/ws/kiosk")
    ada, bob = desk("ada", 1), desk("bob", 2)
    served, _ = new_ticket(kiosk, "served@example.org", "Served Visitor")
    claimed_by(ada, served["id"], bob)
    token = bob.token
    fresh.restart()
    bob = connect("/ws/staff")
    assert bob.recv().startswith("taken")
    assert bob.answer(f"pick 2 {token}") == "success pick 2"
    assert bob.answer(f"accept {served['id']}") == CLAIMED  # cold
    with write_locked(fresh):
        assert bob.answer(f"accept {served['id']}", UNDER_LOCK) == CLAIMED  # warm


def test_a_put_back_ticket_is_claimable_at_once_raced_exactly_once(fresh, connect, desk):
    """Every worker saw the claim; the put back is answered and at once the others race
    for the ticket, before their workers need have heard of the put back."""
    kiosk = connect("/ws/kiosk")
    owner = desk("owner", 1)
    racers = [desk(f"r{i}", i + 2) for i in range(6)]
    for round_ in range(6):
        t, _ = new_ticket(kiosk, f"back{round_}@example.org", f"Back {round_}")
        claimed_by(owner, t["id"], *racers)
        assert owner.answer(f"requeue {t['id']}") == f"success requeue {t['id']}"
        replies = at_once([r.client for r in racers], [f"accept {t['id']}"] * len(racers))
        winners = [r for r, reply in zip(racers, replies, strict=True)
                   if reply.startswith("success")]
        assert len(winners) == 1, replies
        assert sorted(replies).count(CLAIMED) == len(racers) - 1, replies
        assert winners[0].answer(f"complete {t['id']}") == f"success complete {t['id']}"
        assert rows(fresh, "SELECT status FROM tickets WHERE id = :i", i=t["id"]) == \
            [("completed",)]
        for client in (owner, *racers):
            client.sync()


def test_a_released_table_and_a_revoked_token_are_honoured_at_once(fresh, connect, desk):
    """The read path reads the desk every time: nothing about the staff member is kept."""
    kiosk = connect("/ws/kiosk")
    ada, bob = desk("ada", 1), desk("bob", 2)
    t, _ = new_ticket(kiosk, "t@example.org", "Tee Visitor")
    claimed_by(ada, t["id"], bob)
    assert bob.answer(f"accept {t['id']}") == CLAIMED  # warm, and bob's desk was fine
    assert bob.answer("unpick") == "success unpick"
    assert bob.answer(f"accept {t['id']}") == "error accept you do not have a table chosen"
    assert bob.answer(f"pick 2 {bob.token}") == "success pick 2"
    bob.sync()
    assert bob.answer(f"accept {t['id']}") == CLAIMED
    fresh.flask("staff", "revoke", "bob")
    assert bob.answer(f"accept {t['id']}") == \
        "error accept your session token was found to be invalid. please relogin"


def test_a_busy_winner_is_refused_from_a_read_until_it_completes(fresh, connect, desk):
    """The storm's winner accepts the next ticket while still serving: `busy` (after
    claimed and finished in the order) from the read once the worker knows; once it
    completes, its next accept takes the write path and wins."""
    kiosk = connect("/ws/kiosk")
    ada = desk("ada", 1)
    first, _ = new_ticket(kiosk, "first@example.org", "First Visitor")
    second, _ = new_ticket(kiosk, "second@example.org", "Second Visitor")
    busy = "error accept you are already serving a ticket"
    assert ada.answer(f"accept {first['id']}") == f"success claimed {first['id']}"
    ada.sync()
    with write_locked(fresh):
        assert ada.answer(f"accept {second['id']}", UNDER_LOCK) == busy
    assert ada.answer(f"complete {first['id']}") == f"success complete {first['id']}"
    assert ada.answer(f"accept {second['id']}") == f"success claimed {second['id']}"


def test_a_ticket_the_visitor_left_is_finished_on_the_read_path(fresh, desk):
    """Leaving from the phone ends the ticket (`left`): staff hear it dropped, their worker
    marks it ended, and a late accept or complete is refused from the read as finished."""
    from tests.kit.follow import follow, sign_in_with_link

    ada = desk("ada", 1)
    gone, url = sign_in_with_link(fresh, "gone@example.org", "Gone Visitor")
    phone, _ = follow(fresh, url)
    try:
        assert phone.ask("leave") == "success leave"
    finally:
        phone.close()
    ada.until(lambda m: m.startswith("claimed {") and f'"id":{gone},' in m)
    ada.sync()
    with write_locked(fresh):
        assert ada.answer(f"accept {gone}", UNDER_LOCK) == f"error accept {FINISHED}"
        assert ada.answer(f"complete {gone}", UNDER_LOCK) == f"error complete {FINISHED}"
