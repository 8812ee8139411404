"""The pages catch up after a drop (docs/protocol.md, "Catching up"; docs/pages.md): the
display reconnects with `?since=N`, the last mark it read, and a call made while it was
away is announced as a call; one that also ended meanwhile is not; the console's list
gains the ticket that arrived meanwhile."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.kit.browser import (
    LAPTOP,
    TV,
    OpenPage,
    SocketSwitch,
    add_staff,
    connected,
    log_in,
    set_tables,
)
from tests.kit.client import Desk
from tests.kit.live import LiveServer, kiosk_sign_in

SOCKET = re.compile(r".*/ws/(display|staff)(\?.*)?$")
MARKED = """() => Object.keys(sessionStorage).some((key) => key.startsWith("tq-mark:"))"""


def marked(page: Page) -> None:
    """The page has read its first `mark` (connected only says the socket opened)."""
    page.wait_for_function(MARKED)


def test_a_call_made_while_the_display_was_away_is_announced(
        fresh: LiveServer, open_page: OpenPage, desk: Callable[..., Desk]) -> None:
    set_tables(fresh, 6)
    ada, bob = desk("ada", 2), desk("bob", 4)
    first = kiosk_sign_in(fresh, "lin@example.org", "Lin Clark")
    second = kiosk_sign_in(fresh, "rob@example.org", "Rob Pike")
    switch = SocketSwitch()
    display = open_page("/display/", viewport=TV,
                        before=lambda page: page.route_web_socket(SOCKET, switch.route))
    connected(display)
    assert switch.urls[-1].endswith("/ws/display?since=")  # a page just loaded
    marked(display)
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
    switch = SocketSwitch()
    staff = open_page("/login", viewport=LAPTOP,
                      before=lambda page: page.route_web_socket(SOCKET, switch.route))
    log_in(staff, "ada")
    expect(staff.locator("#waiting-list .row-name")).to_have_text(["Lin Clark"])
    marked(staff)
    switch.off()
    expect(staff.locator(".conn").first).to_have_attribute("data-connection", "reconnecting")
    kiosk_sign_in(fresh, "rob@example.org", "Rob Pike")
    switch.on()
    connected(staff)
    expect(staff.locator("#waiting-list .row-name")).to_have_text(["Lin Clark", "Rob Pike"])
    assert re.search(r"/ws/staff\?since=[0-9]+&lines=1$", switch.urls[-1]), switch.urls[-1]
