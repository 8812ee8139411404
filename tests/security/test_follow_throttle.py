"""Follow-link lookups are throttled like logins: failed ones count per address, and past
the limit even a good link waits (a guesser learns nothing more)."""

from __future__ import annotations

import http.client
from concurrent.futures import ThreadPoolExecutor

from tests.kit.follow import code_of, sign_in_with_link
from tests.kit.live import LiveServer

# PROXY_COUNT=1: X-Forwarded-For names the client, so a test can be its own address.
SERVER_ENV = {"LIMIT_FOLLOW_ADDRESS": "3/300", "PROXY_COUNT": "1"}


def get(server: LiveServer, path: str, address: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path, headers={"X-Forwarded-For": address})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


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


def test_parallel_guesses_cannot_slip_under_the_limit(fresh: LiveServer) -> None:
    """Forty guesses at once: each takes its place in the counter before its code is read,
    so at most the limit (3) are looked up; the rest are refused, whatever the timing."""
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(lambda n: get(fresh, f"/v/GUESS{n:017d}", "10.7.0.1"),
                                 range(40)))
    assert sorted(set(statuses)) == [404, 429] and statuses.count(404) == 3, statuses


def test_good_links_do_not_count_and_do_not_forgive(fresh: LiveServer) -> None:
    """Found codes give their place back (a phone reloading its page is never throttled),
    and do not wipe the failures before them (a guesser's own ticket is no reset button)."""
    _, url = sign_in_with_link(fresh, "g@example.org", "G")
    path = url.removeprefix(fresh.base)
    for _ in range(2):
        assert get(fresh, "/v/BBBBBBBBBBBBBBBBBBBBBB", "10.7.0.2") == 404
    for _ in range(5):
        assert get(fresh, path, "10.7.0.2") == 200
    assert get(fresh, "/v/CCCCCCCCCCCCCCCCCCCCCC", "10.7.0.2") == 404  # the third failure
    assert get(fresh, "/v/DDDDDDDDDDDDDDDDDDDDDD", "10.7.0.2") == 429
