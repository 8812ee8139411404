"""Phones on several workers while Redis goes away: events published meanwhile are lost
to pub/sub, and the resync after Redis returns brings every phone to the truth."""

from __future__ import annotations

import time

import websocket

from tests.kit.client import Client
from tests.kit.follow import follow, sign_in_with_link, state
from tests.kit.scale import staff_tokens


def _latest(phone: Client, wanted: dict, timeout: float = 30) -> dict:
    """Read the phone's states until the latest one matches `wanted` (keys given)."""
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        try:  # short reads: the server's pings would restart a long one's timeout
            last = state(phone.recv(timeout=1))
        except websocket.WebSocketTimeoutException:
            continue
        if all(last.get(k) == v for k, v in wanted.items()):
            return last
    raise AssertionError(f"phone never showed {wanted}; last {last}")


def test_phones_catch_up_after_a_relay_gap(redis_and_server, opened) -> None:
    redis, server = redis_and_server
    (token,) = staff_tokens(server, ["ann"])
    staff = server.connect("/ws/staff")
    opened.append(staff)
    assert staff.recv().startswith("taken")
    assert staff.answer(f"pick 3 {token}") == "success pick 3"
    links = [sign_in_with_link(server, f"g{i}@example.org", f"G {i}") for i in range(3)]
    # Several phones per ticket, so that every worker holds some.
    phones = {ticket_id: [follow(server, url)[0] for _ in range(3)] for ticket_id, url in links}
    for group in phones.values():
        opened.extend(group)
    first, second, third = (ticket_id for ticket_id, _ in links)

    redis.stop()
    assert staff.answer(f"accept {first}") == f"success claimed {first}"
    redis.start()
    for phone in phones[first]:
        _latest(phone, {"status": "serving", "table": 3})
    for phone in phones[second]:
        _latest(phone, {"ahead": 0})
    for phone in phones[third]:
        _latest(phone, {"ahead": 1})
