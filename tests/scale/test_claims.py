"""Claim storms across hosts (issue 16): two servers of three workers, one PostgreSQL, one
Redis. A worker on the other host that heard of a claim (through the relay) refuses the
losers from one read, while the test holds the tickets table's write lock; one that heard
nothing (restarted) answers the same through the write path, then learns; a ticket put
back on one host is claimable at once on the other."""

from __future__ import annotations

import json

from tests.kit.client import Client
from tests.kit.races import CLAIMED, UNDER_LOCK, write_locked
from tests.kit.refusals import FINISHED
from tests.kit.scale import console, staff_tokens


def _ticket(kiosk: Client, email: str) -> int:
    return json.loads(kiosk.ask(f"new {email} Storm Visitor").removeprefix("success new "))["id"]


def _heard_claim(client: Client, ticket: int) -> None:
    client.until(lambda m: m.startswith("claimed {") and f'"id":{ticket},' in m)


def test_the_other_host_refuses_losers_from_a_read(cluster, opened) -> None:
    one, two = cluster
    one.reset()
    tokens = staff_tokens(one, ["near", "far", "back"])
    near = console(one, opened, tokens[0], 1)
    far, back = console(two, opened, tokens[1], 2), console(two, opened, tokens[2], 3)
    kiosk = one.connect("/ws/kiosk")
    opened.append(kiosk)
    served, done = _ticket(kiosk, "served@example.org"), _ticket(kiosk, "done@example.org")
    assert near.answer(f"accept {done}") == f"success claimed {done}"
    assert near.answer(f"complete {done}") == f"success complete {done}"
    assert near.answer(f"accept {served}") == f"success claimed {served}"
    _heard_claim(far, served)
    assert back.answer("away") == "success away"
    far.sync(), back.sync()  # every event published before is delivered on their workers
    with write_locked(one):
        assert far.answer(f"accept {served}", UNDER_LOCK) == CLAIMED
        assert far.answer(f"accept {done}", UNDER_LOCK) == f"error accept {FINISHED}"
        assert far.answer(f"complete {done}", UNDER_LOCK) == f"error complete {FINISHED}"
        assert back.answer(f"accept {served}", UNDER_LOCK) == \
            "error accept you are away from your table"
    # Put back on one host: claimable at once on the other, whatever its book says.
    assert near.answer(f"requeue {served}") == f"success requeue {served}"
    assert far.answer(f"accept {served}") == f"success claimed {served}"


def test_a_restarted_host_answers_the_same_then_learns(cluster, opened) -> None:
    one, two = cluster
    one.reset()
    tokens = staff_tokens(one, ["first", "second"])
    first = console(one, opened, tokens[0], 1)
    kiosk = one.connect("/ws/kiosk")
    opened.append(kiosk)
    served = _ticket(kiosk, "cold@example.org")
    assert first.answer(f"accept {served}") == f"success claimed {served}"
    two.restart()  # its workers have heard of nothing
    second = console(two, opened, tokens[1], 2)
    assert second.answer(f"accept {served}") == CLAIMED  # cold: the write path
    with write_locked(one):
        assert second.answer(f"accept {served}", UNDER_LOCK) == CLAIMED  # learnt
