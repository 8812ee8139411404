"""The registry's rooms, one per site (tablequeue/live/registry.py, rooms.py), through a real
server: a screen's site comes from its URL at the handshake (an unknown one is refused
before the upgrade), a phone's from the ticket it follows, and a room exists on a worker
while it has screens there (SITE_UNSUBSCRIBE_SECONDS after the last one left, with Redis).
Every frame type and command at two sites is tests/live/test_sites_*.py's subject."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Callable

import pytest

from tests.kit.client import Client, new_ticket
from tests.kit.follow import code_of, state
from tests.kit.frames import handshake
from tests.kit.live import LiveServer
from tests.kit.new_site import add_site, admin_token
from tests.kit.new_site import status as _status

SERVER_ENV = {"SITE_UNSUBSCRIBE_SECONDS": "1"}
WORKERS = (int(os.environ.get("TEST_WEB_CONCURRENCY", "3"))
           if os.environ.get("TEST_REDIS_URL") else 1)


@pytest.mark.parametrize("path", ["/s/nowhere/ws/kiosk", "/s/nowhere/ws/staff",
                                  "/s/nowhere/ws/display", "/s/Not_A_Slug/ws/kiosk",
                                  f"/s/{'x' * 41}/ws/display"])
def test_an_unknown_site_is_a_404_before_the_upgrade(fresh: LiveServer, path: str) -> None:
    sock, head = handshake(fresh, path, offer_deflate=False)
    sock.close()
    assert _status(head) == 404, head
    assert "upgrade: websocket" not in head.lower(), head


def test_a_site_is_served_from_the_first_handshake_after_it_is_added(fresh: LiveServer) -> None:
    """Another process added it: the server's directory re-reads the sites on a miss."""
    annex, _ = add_site(fresh, wait=False)
    for route in ("kiosk", "staff", "display"):
        deadline = time.monotonic() + 10
        while True:
            sock, head = handshake(fresh, f"/s/{annex}/ws/{route}", offer_deflate=False)
            sock.close()
            if _status(head) == 101 or time.monotonic() > deadline:
                break
            time.sleep(0.2)  # a miss re-reads the sites at most every 0.5 s
        assert _status(head) == 101, head
    # A trailing slash is no route: never a redirect a websocket client would not follow.
    sock, head = handshake(fresh, f"/s/{annex}/ws/kiosk/", offer_deflate=False)
    sock.close()
    assert _status(head) == 404, head


def test_today_urls_and_the_default_sites_own_share_one_room(
        fresh: LiveServer, connect: Callable[[str], Client]) -> None:
    token = admin_token(fresh, "root")
    old, new = connect("/ws/staff"), connect("/s/main/ws/staff")
    for console in (old, new):
        assert console.recv() == "taken"
    assert old.ask(f"pick 1 {token}") == "success pick 1"
    assert new.recv() == "taken 1"  # the other console of the same site (and room)
    kiosk = connect("/s/main/ws/kiosk")
    _, raw = new_ticket(kiosk, "ada@example.org", "Ada")
    assert old.until(lambda m: m.startswith("new "))[0] == "new " + raw


def test_an_event_reaches_only_its_own_sites_room(
        fresh: LiveServer, connect: Callable[[str], Client]) -> None:
    """One account at both sites' consoles (on one worker without Redis: one registry)."""
    annex, _ = add_site(fresh)
    token = admin_token(fresh, "root")
    here, there = connect("/ws/staff"), connect(f"/s/{annex}/ws/staff")
    displays = connect("/ws/display"), connect(f"/s/{annex}/ws/display")
    for console in (here, there):
        assert console.recv() == "taken"
    assert there.ask(f"pick 2 {token}") == "success pick 2"  # binds it: it hears `new`
    kiosk = connect(f"/s/{annex}/ws/kiosk")
    ticket, raw = new_ticket(kiosk, "bo@example.org", "Bo")
    assert there.until(lambda m: m.startswith("new "))[0] == "new " + raw
    assert there.answer(f"accept {ticket['id']}") == f"success claimed {ticket['id']}"
    assert displays[1].until(lambda m: m.startswith("claimed "))[0].startswith("claimed root 2 ")
    # The default site's screens heard nothing of it: their first frame is their own sync.
    assert here.sync() == []
    assert displays[0].sync() == []


def test_a_phone_is_in_its_tickets_sites_room(
        fresh: LiveServer, connect: Callable[[str], Client]) -> None:
    annex, _ = add_site(fresh)
    token = admin_token(fresh, "root")
    kiosk = connect(f"/s/{annex}/ws/kiosk")
    ticket, _ = new_ticket(kiosk, "cy@example.org", "Cy")
    reply = kiosk.ask(f"link {ticket['id']}")
    assert reply.startswith(f"success link {ticket['id']} "), reply
    phone = connect("/ws/visitor")
    assert phone.ask(f"follow {code_of(reply.split(' ')[3])}") == "success follow"
    assert state(phone.recv())["status"] == "waiting"
    assert _everywhere(fresh, lambda sites: sites.get(annex) == 2)  # the kiosk and phone
    console = connect(f"/s/{annex}/ws/staff")
    assert console.recv() == "taken"
    assert console.ask(f"pick 3 {token}") == "success pick 3"
    assert console.answer(f"accept {ticket['id']}") == f"success claimed {ticket['id']}"
    now = state(phone.recv())
    assert (now["status"], now["table"]) == ("serving", 3)


def test_a_room_lasts_as_long_as_its_screens(fresh: LiveServer,
                                             connect: Callable[[str], Client]) -> None:
    annex, _ = add_site(fresh)
    display = connect(f"/s/{annex}/ws/display")
    display.sync()
    assert _everywhere(fresh, lambda sites: sites.get(annex) == 1)
    display.close()
    # Gone from every worker (at once without Redis; after SITE_UNSUBSCRIBE_SECONDS with).
    assert _everywhere(fresh, lambda sites: annex not in sites)
    again = connect(f"/s/{annex}/ws/display")
    assert again.sync() == []  # a fresh room greets it like the first: nothing is taken


def _everywhere(server: LiveServer, wanted: Callable[[dict[str, int]], bool],
                timeout: float = 15) -> bool:
    """Until `wanted` holds for the sum of every worker's rooms (/healthz `sites`, asked
    until each worker has answered since the last change)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen: dict[int, dict[str, int]] = {}
        while len(seen) < WORKERS and time.monotonic() < deadline:
            with urllib.request.urlopen(server.base + "/healthz", timeout=10) as response:
                health = json.loads(response.read())
            seen[health["worker"]] = health["sites"]
        total: dict[str, int] = {}
        for sites in seen.values():
            for slug, count in sites.items():
                total[slug] = total.get(slug, 0) + count
        if wanted(total):
            return True
        time.sleep(0.2)
    return False
