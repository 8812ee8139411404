"""A websocket client sending more frames than any screen would is closed with 1008
(issue 17, on top of fairness: tests/security/test_flood.py proves fairness with this limit off)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.kit.client import Client

LIMIT = 100
SERVER_ENV = {"WS_MESSAGE_RATE": f"{LIMIT}/600"}


@pytest.mark.parametrize("path", ["/ws/kiosk", "/ws/staff", "/ws/display"])
def test_a_connection_over_its_message_rate_is_closed_with_1008(
        connect: Callable[[str], Client], path: str) -> None:
    client = connect(path)
    client.drain()  # the greeting, if any
    for _ in range(LIMIT):
        client.send("sync")
    replies = [client.recv() for _ in range(LIMIT)]
    assert replies == ["error sync unknown command"] * LIMIT  # up to the limit: served
    client.send("sync")
    assert client.close_code() == 1008


def test_the_rate_is_per_connection(connect: Callable[[str], Client]) -> None:
    flooder, other = connect("/ws/kiosk"), connect("/ws/kiosk")
    for _ in range(LIMIT + 1):
        flooder.send("sync")
    assert flooder.close_code() == 1008
    assert other.answer("sync") == "error sync unknown command"
