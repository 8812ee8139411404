"""Follow-link lookups are throttled like logins: failed ones count per address, and past
the limit even a good link waits (a guesser learns nothing more)."""

from __future__ import annotations

from tests.follow_kit import code_of, sign_in_with_link
from tests.live import LiveServer

SERVER_ENV = {"LIMIT_FOLLOW_ADDRESS": "3/300"}


def test_failed_lookups_are_throttled_per_address(fresh: LiveServer) -> None:
    _, url = sign_in_with_link(fresh, "t@example.org", "T")
    assert fresh.http("GET", url.removeprefix(fresh.base))[0] == 200
    for _ in range(3):
        assert fresh.http("GET", "/v/AAAAAAAAAAAAAAAAAAAAAA")[0] == 404
    status, _, body = fresh.http("GET", url.removeprefix(fresh.base))
    assert status == 429 and "Too many tries" in body
    phone = fresh.connect("/ws/visitor")
    try:
        assert phone.ask(f"follow {code_of(url)}") == (
            "error follow too many requests, wait a moment and try again")
    finally:
        phone.close()
