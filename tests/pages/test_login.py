"""Staff identity over HTTP and at the websocket handshake: /login issues a session token
kept in the session cookie, the cookie binds a /ws/staff connection, /logout revokes the
token, and an expired or revoked token makes every command come from nobody."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.kit.client import new_ticket, ticket
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}

TOKEN_INVALID = "error accept your session token was found to be invalid. please relogin"
PICK_TOKEN_INVALID = "error pick the provided token does not belong to any staff member"


def page_token(server: LiveServer, cookie: str) -> str:
    """The token /login issued, as the console's browser holds it (in the session cookie)."""
    assert server.http("GET", "/staff/", cookie=cookie)[0] == 200
    token = server.session_token(cookie)
    assert token
    return token


def expire_sessions(server: LiveServer) -> None:
    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE staff_sessions SET expires_at = :past"),
                     {"past": "2000-01-01 00:00:00+00:00"})
    engine.dispose()


def assert_commands_come_from_nobody(staff, ticket_id: int) -> None:
    assert staff.answer(f"accept {ticket_id}") == TOKEN_INVALID
    assert (staff.answer(f"complete {ticket_id}")
            == "error complete you are not assigned to any table")
    assert staff.answer(f"cancel {ticket_id}") == "error cancel you are not assigned to any table"
    assert staff.answer("unpick") == "error unpick you do not have a table assigned"
    assert staff.answer("pick 9") == PICK_TOKEN_INVALID


# ---- /login and /staff -------------------------------------------------------------------


@pytest.mark.parametrize("username,password", [("ada", "wrong-password"), ("nobody", "password123"),
                                               ("", ""), ("ada", "")])
def test_login_with_wrong_credentials_is_refused(fresh, connect, username, password):
    fresh.add_staff("ada")
    browser = WebClient(fresh.port)
    reply = browser.login(username, password)
    assert reply.status == 200
    assert "do not match" in reply.body
    assert browser.get("/staff/").status == 302
    cookie = "; ".join(f"{k}={v}" for k, v in browser.jar.items())
    staff = connect("/ws/staff", [f"Cookie: {cookie}"])
    assert staff.sync() == ["taken"]


def test_staff_page_without_login_redirects_to_login(fresh):
    status, headers, _ = fresh.http("GET", "/staff/")
    assert status == 302 and headers["location"].split("?")[0].endswith("/login")


def test_login_issues_a_token_that_pick_accepts(fresh, connect):
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    assert cookie
    token = page_token(fresh, cookie)
    assert len(token) >= 22  # at least 128 bits in URL-safe base64
    staff = connect("/ws/staff")
    assert staff.recv() == "taken"
    assert staff.answer(f"pick 3 {token}") == "success pick 3"


def test_each_login_is_its_own_token(fresh):
    fresh.add_staff("ada")
    first, second = fresh.login("ada"), fresh.login("ada")
    assert page_token(fresh, first) != page_token(fresh, second)
    fresh.logout(first)
    assert fresh.http("GET", "/staff/", cookie=first)[0] == 302
    assert page_token(fresh, second)  # logging out one session leaves the other


def test_tokens_are_stored_only_hashed(fresh):
    token = fresh.add_staff("ada")
    engine = fresh.engine()
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM staff_sessions")).scalars().all()
    engine.dispose()
    assert stored and token not in stored and all(token not in s for s in stored)


# ---- binding at the handshake ------------------------------------------------------------


def test_login_cookie_binds_at_the_handshake_and_pick_needs_no_token(fresh, connect, kiosk):
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    waiting = [new_ticket(kiosk, f"v{i}@example.org", f"Visitor {i}")[1] for i in range(3)]
    staff = connect("/ws/staff", [f"Cookie: {cookie}"])
    # Bound at once: the waiting tickets, oldest first, then `taken` (no table held yet).
    assert staff.sync() == [*(f"new {raw}" for raw in waiting), "taken"]
    assert staff.answer("pick 3") == "success pick 3"
    assert staff.sync() == []  # already bound: no second replay
    _, raw = new_ticket(kiosk, "late@example.org", "Late")
    assert staff.recv() == f"new {raw}"
    assert staff.answer(f"accept {ticket(raw)['id']}") == f"success claimed {ticket(raw)['id']}"


def test_cookie_bound_connection_of_someone_serving_replays_their_claim(fresh, connect, kiosk):
    token = fresh.add_staff("ada")
    first = connect("/ws/staff")
    first.recv()
    assert first.answer(f"pick 3 {token}") == "success pick 3"
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    w, w_raw = new_ticket(kiosk, "w@example.org", "Wendy")
    assert first.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    first.sync()
    staff = connect("/ws/staff", [f"Cookie: {fresh.login('ada')}"])
    replay = staff.sync()
    # Holding a table: no `taken`; the waiting ticket, then the claim being served.
    assert replay[0] == f"new {w_raw}"
    assert len(replay) == 2 and ticket(replay[1].removeprefix("claimed ")) == {**t, "staff": "ada"}
    assert staff.answer(f"complete {t['id']}") == f"success complete {t['id']}"


def test_a_connection_without_a_cookie_is_not_bound(fresh, connect, kiosk):
    fresh.add_staff("ada")
    new_ticket(kiosk, "v@example.org", "Vera")
    staff = connect("/ws/staff")
    assert staff.sync() == ["taken"]  # no visitor data
    assert staff.answer("pick 3") == PICK_TOKEN_INVALID


@pytest.mark.parametrize("cookie", ["session=garbage", "session=", "other=1"])
def test_a_forged_cookie_binds_nobody(fresh, connect, kiosk, cookie):
    new_ticket(kiosk, "v@example.org", "Vera")
    staff = connect("/ws/staff", [f"Cookie: {cookie}"])
    assert staff.sync() == ["taken"]
    assert staff.answer("pick 3") == PICK_TOKEN_INVALID


# ---- logout, revocation, expiry ----------------------------------------------------------


def test_logout_revokes_the_token_for_the_page_and_for_new_connections(fresh, connect, kiosk):
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    token = page_token(fresh, cookie)
    fresh.logout(cookie)
    assert fresh.http("GET", "/staff/", cookie=cookie)[0] == 302
    new_ticket(kiosk, "v@example.org", "Vera")
    staff = connect("/ws/staff", [f"Cookie: {cookie}"])
    assert staff.sync() == ["taken"]
    assert staff.answer(f"pick 3 {token}") == PICK_TOKEN_INVALID


def test_after_logout_commands_on_a_cookie_bound_connection_come_from_nobody(
        fresh, connect, kiosk):
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    staff = connect("/ws/staff", [f"Cookie: {cookie}"])
    assert staff.sync() == ["taken"]
    assert staff.answer("pick 3") == "success pick 3"
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert staff.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    staff.sync()
    fresh.logout(cookie)
    # Unbound at once: greeted like a new console (the table stays the staff member's).
    assert staff.recv() == "taken 3"
    new_ticket(kiosk, "w@example.org", "Wendy")
    kiosk.sync()
    assert staff.sync() == []  # no visitor data for nobody
    assert_commands_come_from_nobody(staff, t["id"])


def test_after_logout_commands_on_a_token_bound_connection_come_from_nobody(
        fresh, connect, kiosk):
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    token = page_token(fresh, cookie)
    staff = connect("/ws/staff")
    staff.recv()
    assert staff.answer(f"pick 3 {token}") == "success pick 3"
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    fresh.logout(cookie)
    assert_commands_come_from_nobody(staff, t["id"])
    assert staff.answer(f"pick 3 {token}") == PICK_TOKEN_INVALID
    # A new login gets the staff member's table back: it belongs to them, not to a token.
    again = page_token(fresh, fresh.login("ada"))
    assert staff.answer(f"pick 3 {again}") == "success pick 3"
    assert staff.answer(f"accept {t['id']}") == f"success claimed {t['id']}"


def test_an_expired_token_is_invalid(fresh, connect, kiosk):
    token = fresh.add_staff("ada")
    staff = connect("/ws/staff")
    staff.recv()
    assert staff.answer(f"pick 3 {token}") == "success pick 3"
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    expire_sessions(fresh)
    assert_commands_come_from_nobody(staff, t["id"])
    other = connect("/ws/staff")
    other.recv()
    assert other.answer(f"pick 4 {token}") == PICK_TOKEN_INVALID


def test_an_expired_login_cookie_binds_nobody(fresh, connect, kiosk):
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    expire_sessions(fresh)
    new_ticket(kiosk, "v@example.org", "Vera")
    staff = connect("/ws/staff", [f"Cookie: {cookie}"])
    assert staff.sync() == ["taken"]
    assert fresh.http("GET", "/staff/", cookie=cookie)[0] == 302
