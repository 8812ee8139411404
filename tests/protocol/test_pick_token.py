"""`pick TABLE` without a token: only a connection bound at the handshake by the login
cookie may leave the token out (docs/protocol.md, Staff, Identity)."""

from __future__ import annotations

import sqlalchemy as sa

from tests.kit.live import LiveServer

PICK_TOKEN_INVALID = "error pick the provided token does not belong to any staff member"


def table_of(server: LiveServer, username: str) -> int | None:
    engine = server.engine()
    with engine.connect() as conn:
        table = conn.execute(sa.text(
            "SELECT a.table_number FROM table_assignments a JOIN staff s ON s.id = a.staff_id "
            "WHERE s.username = :u"), {"u": username}).scalar()
    engine.dispose()
    return table


def test_a_connection_bound_by_pick_with_a_token_must_keep_giving_it(fresh, desk, connect):
    ada = desk("ada", 3)
    display = connect("/ws/display")
    assert display.recv() == "pick 3"
    assert ada.answer("pick 4") == PICK_TOKEN_INVALID
    assert ada.sync() == []
    assert display.sync() == []  # nothing moved: no `unpick 3`, no `pick 4`
    assert table_of(fresh, "ada") == 3
    assert ada.answer(f"pick 4 {ada.token}") == "success pick 4"  # with the token it moves


def test_an_unbound_connection_cannot_pick_without_a_token(fresh, desk):
    ada = desk("ada")
    assert ada.answer("pick 4") == PICK_TOKEN_INVALID
    assert table_of(fresh, "ada") is None


def test_a_cookie_bound_connection_may_still_leave_the_token_out(fresh, connect):
    fresh.add_staff("ada")
    cookie = fresh.login("ada")
    assert cookie
    staff = connect("/ws/staff", [f"Cookie: {cookie}"])
    assert staff.recv() == "taken"
    assert staff.answer("pick 5") == "success pick 5"
    assert staff.answer("pick 6") == "success pick 6"
    assert table_of(fresh, "ada") == 6
