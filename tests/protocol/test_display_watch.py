"""The `watch` extension on /ws/display and what staff receive when the day is closed."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.parse
import urllib.request

from tests.kit.live import LiveServer

TOKEN_FIELD = re.compile(r'name="csrf[-_]token" (?:content|value)="([^"]*)"')


def test_a_seed_display_never_sees_the_extension(fresh: LiveServer, connect) -> None:
    display, kiosk = connect("/ws/display"), connect("/ws/kiosk")
    assert kiosk.ask("new a@example.org Ada Lovelace").startswith("success new ")
    assert display.drain() == []


def test_watch_sends_counts_now_and_on_change(fresh: LiveServer, connect) -> None:
    token = fresh.add_staff("ada")
    display, kiosk, staff = connect("/ws/display"), connect("/ws/kiosk"), connect("/ws/staff")
    assert display.ask("watch") == "success watch"
    assert display.drain() == ["waiting 0", "tables 50"]
    reply = kiosk.ask("new a@example.org Ada Lovelace")
    ticket = json.loads(reply.removeprefix("success new "))
    assert display.recv() == "waiting 1"
    staff.drain()
    assert staff.ask(f"pick 2 {token}") == "success pick 2"
    staff.drain()
    assert staff.ask(f"accept {ticket['id']}") == f"success claimed {ticket['id']}"
    messages = display.drain()
    assert messages[0] == "pick 2"
    assert messages[1].startswith("claimed ada 2 ")
    assert messages[2:] == ["waiting 0"]


def test_watch_needs_no_arguments_and_other_words_stay_unknown(fresh: LiveServer, connect) -> None:
    display = connect("/ws/display")
    assert display.ask("watch please") == "success watch"
    assert display.drain() == ["waiting 0", "tables 50"]
    assert display.ask("pick 1") == "error pick unknown command"


def _form_post(opener: urllib.request.OpenerDirector, url: str, page: str,
               fields: dict[str, str]) -> str:
    html = opener.open(page).read().decode()
    token = TOKEN_FIELD.search(html)
    data = {**fields, **({"csrf_token": token.group(1)} if token and token.group(1) else {})}
    return opener.open(url, urllib.parse.urlencode(data).encode()).read().decode()


def test_closing_the_day_tells_staff_each_ticket_needs_no_one(fresh: LiveServer, connect) -> None:
    token = fresh.add_staff("boss")
    kiosk, staff, display = connect("/ws/kiosk"), connect("/ws/staff"), connect("/ws/display")
    for n in range(2):
        assert kiosk.ask(f"new v{n}@example.org Visitor {n}").startswith("success new ")
    assert staff.recv() == "taken"
    assert staff.ask(f"pick 0 {token}") == "success pick 0"
    assert [m.split(" ", 1)[0] for m in staff.drain()] == ["new", "new"]
    display.ask("watch")
    display.drain()

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    _form_post(opener, f"{fresh.base}/login?next=/admin/", f"{fresh.base}/login",
               {"username": "boss", "password": "password123"})
    page = _form_post(opener, f"{fresh.base}/admin/close-day", f"{fresh.base}/admin/", {})
    assert "Closed 2 waiting tickets." in page

    closed = [json.loads(m.removeprefix("claimed ")) for m in staff.drain()]
    assert [t["name"] for t in closed] == ["Visitor 0", "Visitor 1"]
    assert all(t["staff"] == "" and t["end"] != "1970-01-01T00:00:00Z" for t in closed)
    assert display.drain() == ["waiting 0"]
