"""Login throttles that count before they check, and that lock out the guesser rather
than the account's owner (issue 17, findings 2 and 5; the rules:
tablequeue/pages/login_guard.py)."""

from __future__ import annotations

import threading

from tests.kit.http_client import Reply, WebClient
from tests.kit.live import LiveServer

ACCOUNT, ADDRESS, TOTAL = 5, 10, 12
GUESSES = 40
# PROXY_COUNT=1: X-Forwarded-For names the client, so each test can be its own address.
SERVER_ENV = {
    "PROXY_COUNT": "1",
    "LIMIT_LOGIN_ACCOUNT": f"{ACCOUNT}/900",
    "LIMIT_LOGIN_ADDRESS": f"{ADDRESS}/900",
    "LIMIT_LOGIN_ACCOUNT_TOTAL": f"{TOTAL}/900",
}


def web(server: LiveServer, address: str) -> WebClient:
    return WebClient(server.port, {"X-Forwarded-For": address})


def at_once(server: LiveServer, address: str, attempts: list[tuple[str, str]]) -> list[Reply]:
    """Every (username, password) POSTed to /login at the same moment, one thread each."""
    clients = [web(server, address) for _ in attempts]
    forms = [{"csrf_token": c.csrf_token("/login"), "username": u, "password": p}
             for c, (u, p) in zip(clients, attempts, strict=True)]
    start = threading.Barrier(len(attempts))
    replies: list[Reply | None] = [None] * len(attempts)

    def attempt(n: int) -> None:
        start.wait(timeout=30)
        replies[n] = clients[n].post("/login", forms[n])

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(r is not None for r in replies), "a login attempt never got an answer"
    return replies  # type: ignore[return-value]


def checked(replies: list[Reply]) -> int:
    """How many attempts reached the password check (the others were refused with 429)."""
    assert {r.status for r in replies} <= {200, 429}, [r.status for r in replies]
    return sum(r.status == 200 and "do not match" in r.body for r in replies)


def test_parallel_guesses_at_one_account_count_as_many(fresh: LiveServer) -> None:
    fresh.add_staff("ada")
    replies = at_once(fresh, "10.60.0.1", [("ada", f"wrong-{n}") for n in range(GUESSES)])
    assert checked(replies) <= ACCOUNT, f"{checked(replies)} of {GUESSES} parallel guesses checked"
    # The owner, elsewhere, is not locked out by someone else's guessing.
    assert web(fresh, "10.60.0.2").login("ada").status == 302


def test_parallel_guesses_at_many_accounts_count_against_the_address(fresh: LiveServer) -> None:
    replies = at_once(fresh, "10.61.0.1", [(f"user{n}", "wrong-password") for n in range(GUESSES)])
    assert checked(replies) <= ADDRESS, f"{checked(replies)} of {GUESSES} parallel guesses checked"


def test_a_guesser_is_locked_out_and_the_owner_is_not(fresh: LiveServer) -> None:
    fresh.add_staff("bob")
    attacker = web(fresh, "10.62.0.1")
    for _ in range(ACCOUNT):
        assert attacker.login("bob", "wrong-password").status == 200
    refused = attacker.login("bob")  # even the right password, from the guesser's address
    assert refused.status == 429 and "Too many failed log-ins" in refused.body
    assert web(fresh, "10.62.0.2").login("bob").status == 302


def test_guessing_from_many_addresses_stops_at_the_accounts_total_but_not_its_owner(
        fresh: LiveServer) -> None:
    fresh.add_staff("carol")
    owner = web(fresh, "10.63.0.1")
    assert owner.login("carol").status == 302  # this browser is now trusted for carol
    statuses = [web(fresh, f"10.63.1.{n // ACCOUNT}").login("carol", f"wrong-{n}").status
                for n in range(TOTAL + ACCOUNT)]
    assert statuses.count(200) == TOTAL and statuses[TOTAL:] == [429] * ACCOUNT
    assert web(fresh, "10.63.9.9").login("carol").status == 429  # an unknown browser waits
    assert owner.login("carol").status == 302  # the owner's browser does not
    owner.extra["X-Forwarded-For"] = "10.63.1.0"  # nor from a guesser's own address (a shared NAT)
    assert owner.login("carol").status == 302


def test_a_forged_or_foreign_trusted_cookie_is_an_ordinary_client(fresh: LiveServer) -> None:
    fresh.add_staff("dora")
    fresh.add_staff("erin")
    browser = web(fresh, "10.64.0.1")
    assert browser.login("erin").status == 302  # trusted for erin, not for dora
    cookie = next(name for name in browser.jar if name.startswith("tq_trusted_"))
    browser.jar[f"tq_trusted_{'0' * 12}"] = browser.jar[cookie]  # erin's value under another name
    for _ in range(ACCOUNT):
        assert browser.login("dora", "wrong-password").status == 200
    assert browser.login("dora").status == 429


def test_successful_logins_do_not_use_up_the_address(fresh: LiveServer) -> None:
    """A venue's consoles may share one address: a shift logging in is not guessing."""
    names = [f"shift{n}" for n in range(ADDRESS + 5)]
    for name in names:
        fresh.add_staff(name)
    assert [web(fresh, "10.66.0.1").login(name).status for name in names] == [302] * len(names)


def test_the_trusted_cookie_is_httponly_and_only_sent_to_login(fresh: LiveServer) -> None:
    fresh.add_staff("fay")
    reply = web(fresh, "10.65.0.1").login("fay")
    trusted = [c for c in reply.cookies() if c.startswith("tq_trusted_")]
    assert len(trusted) == 1, reply.cookies()
    assert "HttpOnly" in trusted[0] and "Path=/login" in trusted[0] and "SameSite=Lax" in trusted[0]
