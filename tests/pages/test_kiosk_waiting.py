"""POST /kiosk/waiting: how the kiosk page learns that a visitor already holds a waiting
ticket, so it gives them no second one. It answers only with the visitor's own number and
place, spends the same per-address budget as `query`, and is a kiosk page behind the
kiosk's device key like the others."""

from __future__ import annotations

import time

import sqlalchemy as sa

from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer, kiosk_sign_in

SERVER_ENV = {"LIMIT_QUERY_ADDRESS": "8/60"}


def ask(server: LiveServer, email: str) -> tuple[int, str]:
    client = WebClient(server.port)
    token = client.csrf_token("/kiosk/")
    reply = client.post("/kiosk/waiting", {"csrf_token": token, "email": email})
    return reply.status, reply.body


def test_a_waiting_visitor_is_found_by_email_any_case(fresh: LiveServer) -> None:
    kiosk_sign_in(fresh, "first@example.org", "First Visitor")
    ada = kiosk_sign_in(fresh, "Ada@Example.org", "Ada Lovelace")
    status, body = ask(fresh, "ada@EXAMPLE.org")
    assert status == 200
    assert f'id="kiosk-ticket-number">{ada["id"]}<' in body
    assert "number 2" in body and "already in line" in body
    # Only the number and the place: nothing about who it is.
    assert "Ada" not in body and "example.org" not in body.lower()


def test_no_waiting_ticket_is_204(fresh: LiveServer) -> None:
    assert ask(fresh, "nobody@example.org")[0] == 204
    assert ask(fresh, "not an email")[0] == 204
    ticket = kiosk_sign_in(fresh, "done@example.org", "Done Visitor")
    engine = fresh.engine()
    with engine.begin() as conn:  # served and gone: a new visit is welcome
        conn.execute(sa.text("UPDATE tickets SET status = 'completed' WHERE id = :id"),
                     {"id": ticket["id"]})
    engine.dispose()
    assert ask(fresh, "done@example.org")[0] == 204


def test_it_needs_the_csrf_token(fresh: LiveServer) -> None:
    reply = WebClient(fresh.port).post("/kiosk/waiting", {"email": "a@example.org"})
    assert reply.status == 400


def test_it_is_rate_limited_like_query(fresh: LiveServer) -> None:
    if time.time() % 60 > 50:  # the limit counts in fixed 60 s windows: start in a fresh one
        time.sleep(61 - time.time() % 60)
    client = WebClient(fresh.port)
    token = client.csrf_token("/kiosk/")
    form = {"csrf_token": token}
    statuses = [client.post("/kiosk/waiting", {**form, "email": f"p{n}@example.org"}).status
                for n in range(10)]
    allowed = statuses.count(204)  # the module's other tests spent some of this window
    assert allowed <= 8 and statuses == [204] * allowed + [429] * (10 - allowed), statuses
    # The same budget as `query` over the websocket from this address.
    kiosk = fresh.connect("/ws/kiosk")
    try:
        reply = kiosk.ask("query p1@example.org")
        assert reply == "error query too many requests, wait a moment and try again"
    finally:
        kiosk.close()
