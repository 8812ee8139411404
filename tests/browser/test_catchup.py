"""The pages catch up after a drop (docs/protocol.md, "Catching up"; docs/pages.md): the
display reconnects with `?since=N`, the last mark it read, and a call made while it was
away is announced as a call; one that also ended meanwhile is not; the console's list
gains the ticket that arrived meanwhile."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import WebSocketRoute, expect

from tests.kit.browser import LAPTOP, TV, OpenPage, add_staff, connected, log_in, set_tables
from tests.kit.client import Desk
from tests.kit.live import LiveServer, kiosk_sign_in

SOCKET = re.compile(r".*/ws/(display|staff)(\?.*)?$")


class Switch:
    """Passes a page's websocket through; `off()` closes it and refuses reconnections until
    `on()`. Keeps the URL of every handshake."""

    def __init__(self) -> None:
        self.away = False
        self.live: list[WebSocketRoute] = []
        self.urls: list[str] = []

    def route(self, ws: WebSocketRoute) -> None:
        self.urls.append(ws.url)
        if self.away:
            ws.close(code=1011, reason="test: server away")
            return
        server = ws.connect_to_server()
        ws.on_message(server.send)
        server.on_message(ws.send)
        self.live.append(ws)

    def off(self) -> None:
        self.away = True
        for ws in self.live:
            ws.close(code=1011, reason="test: server away")
        self.live.clear()

    def on(self) -> None:
        self.away = False


def test_a_call_made_while_the_display_was_away_is_announced(
        fresh: LiveServer, open_page: OpenPage, desk: Callable[..., Desk]) -> None:
    set_tables(fresh, 6)
    ada, bob = desk("ada", 2), desk("bob", 4)
    first = kiosk_sign_in(fresh, "lin@example.org", "Lin Clark")
    second = kiosk_sign_in(fresh, "rob@example.org", "Rob Pike")
    switch = Switch()
    display = open_page("/display/", viewport=TV,
                        before=lambda page: page.route_web_socket(SOCKET, switch.route))
    connected(display)
    assert switch.urls[-1].endswith("/ws/display?since=")  # a page just loaded
    switch.off()
    expect(display.locator(".conn")).to_have_attribute("data-connection", "reconnecting")
    assert ada.answer(f"accept {first['id']}").startswith("success claimed")
    assert bob.answer(f"accept {second['id']}").startswith("success claimed")
    assert bob.answer(f"complete {second['id']}").startswith("success complete")
    switch.on()
    connected(display)
    assert re.search(r"/ws/display\?since=[0-9]+$", switch.urls[-1]), switch.urls[-1]
    expect(display.locator("#table-2 .table-name")).to_have_text("Lin C.")
    expect(display.locator("#table-2")).to_have_class(re.compile(r"\bcalled\b"))
    expect(display.locator("#display-call")).to_have_attribute("data-calls", "1")
    expect(display.locator("#display-call")).to_contain_text("please go to table 2")
    expect(display.locator("#table-4 .table-state")).to_have_text("Open")  # over: no call


def test_the_console_keeps_its_list_and_gains_what_arrived_meanwhile(
        fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "ada")
    kiosk_sign_in(fresh, "lin@example.org", "Lin Clark")
    switch = Switch()
    staff = open_page("/login", viewport=LAPTOP,
                      before=lambda page: page.route_web_socket(SOCKET, switch.route))
    log_in(staff, "ada")
    expect(staff.locator("#waiting-list .row-name")).to_have_text(["Lin Clark"])
    switch.off()
    expect(staff.locator(".conn").first).to_have_attribute("data-connection", "reconnecting")
    kiosk_sign_in(fresh, "rob@example.org", "Rob Pike")
    switch.on()
    connected(staff)
    expect(staff.locator("#waiting-list .row-name")).to_have_text(["Lin Clark", "Rob Pike"])
    assert re.search(r"/ws/staff\?since=[0-9]+&lines=1$", switch.urls[-1]), switch.urls[-1]
