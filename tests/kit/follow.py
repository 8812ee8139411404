"""Helpers for follow-link tests: a kiosk that signs a visitor in and gets the link, a
phone that follows it over /ws/visitor."""

from __future__ import annotations

import json
from typing import Any

from tests.kit.client import Client, new_ticket
from tests.kit.live import LiveServer


def sign_in_with_link(server: LiveServer, email: str, name: str,
                      email_me: bool = False) -> tuple[int, str]:
    """A kiosk signs a visitor in and asks for the follow link; (ticket id, link URL)."""
    kiosk = server.connect("/ws/kiosk")
    try:
        ticket, _ = new_ticket(kiosk, email, name)
        reply = kiosk.ask(f"link {ticket['id']}" + (" email" if email_me else ""))
    finally:
        kiosk.close()
    assert reply.startswith(f"success link {ticket['id']} "), reply
    return ticket["id"], reply.split(" ")[3]


def code_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def state(message: str) -> dict[str, Any]:
    assert message.startswith("state "), message
    return json.loads(message.removeprefix("state "))  # type: ignore[no-any-return]


def follow(server: LiveServer, url: str) -> tuple[Client, dict[str, Any]]:
    """A phone following the link; its first state."""
    phone = server.connect("/ws/visitor")
    assert phone.ask(f"follow {code_of(url)}") == "success follow"
    return phone, state(phone.recv())


def next_state(phone: Client, timeout: float = 10) -> dict[str, Any]:
    return state(phone.recv(timeout))
