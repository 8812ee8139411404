"""The accessibility audit: axe-core (the axe.min.js shipped in the axe-playwright-python
wheel, injected by Playwright's evaluate, which the page's CSP does not govern) on every
page in the states people see, zero serious or critical violations; the kiosk and the
staff console used by keyboard alone with a visible focus; the display's animations off
under prefers-reduced-motion."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.kit.browser import (
    KIOSK_PORTRAIT,
    LAPTOP,
    TV,
    OpenPage,
    SocketSwitch,
    add_staff,
    audit,
    connected,
    log_in,
    pick_table,
    set_tables,
)
from tests.kit.client import Desk
from tests.kit.live import LiveServer, kiosk_sign_in


def test_home_and_login(server: LiveServer, open_page: OpenPage) -> None:
    page = open_page("/")
    audit(page, "home")
    page.goto("/login")
    audit(page, "login")


def test_kiosk_form_error_and_confirmation(fresh: LiveServer, open_page: OpenPage) -> None:
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    audit(kiosk, "kiosk form")
    kiosk.click("#kiosk-submit")
    expect(kiosk.locator("#kiosk-error")).to_have_text("Please type your email.")
    audit(kiosk, "kiosk error")
    kiosk.fill("#kiosk-email", "not-an-email")
    kiosk.fill("#kiosk-name", "Ada Lovelace")
    kiosk.click("#kiosk-submit")
    expect(kiosk.locator("#kiosk-error")).to_have_text("Email is not a valid address.")
    audit(kiosk, "kiosk server error")
    kiosk.fill("#kiosk-email", "ada@example.org")
    kiosk.click("#kiosk-submit")
    expect(kiosk.locator(".position")).to_have_text("You are next in line.")
    audit(kiosk, "kiosk confirmation")
    kiosk.click("#kiosk-done")
    kiosk.fill("#kiosk-email", "ada@example.org")
    kiosk.fill("#kiosk-name", "Ada Lovelace")
    kiosk.click("#kiosk-submit")
    expect(kiosk.locator("#kiosk-already")).to_be_visible()
    audit(kiosk, "kiosk already waiting")


def test_staff_console_login_seated_serving(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "ada")
    kiosk_sign_in(fresh, "grace@example.org", "Grace Hopper")
    staff = open_page("/login", viewport=LAPTOP)
    audit(staff, "staff login")
    log_in(staff, "ada")
    expect(staff.locator("#table-grid button")).to_have_count(50)
    audit(staff, "staff console, no table")
    pick_table(staff, 3)
    expect(staff.locator("#waiting-list li")).to_have_count(1)
    audit(staff, "staff console, seated")
    staff.click("#waiting-list button.accept")
    expect(staff.locator("#serving-name")).to_have_text("Grace Hopper")
    audit(staff, "staff console, serving")


def test_display_idle_busy_called_reconnecting(
    fresh: LiveServer, open_page: OpenPage, desk: Callable[..., Desk]
) -> None:
    set_tables(fresh, 8)
    switch = SocketSwitch()
    display = open_page("/display/", viewport=TV, before=lambda page: page.route_web_socket(
        re.compile(r".*/ws/display(\?.*)?$"), switch.route))
    connected(display)
    expect(display.locator("#waiting-count")).to_have_text("0")
    audit(display, "display idle")
    seated = [desk(f"s{n}", n) for n in (1, 2, 5)]
    tickets = [kiosk_sign_in(fresh, f"v{n}@example.org", f"Visitor{n} Long-Surname")
               for n in range(3)]
    for staff, ticket in zip(seated, tickets, strict=True):
        staff.drain()
        assert staff.ask(f"accept {ticket['id']}").startswith("success claimed")
    expect(display.locator("#table-5")).to_have_class(re.compile(r"\bcalled\b"))
    audit(display, "display busy, calling")
    seated[2].drain()
    assert seated[2].ask(f"complete {tickets[2]['id']}").startswith("success complete")
    expect(display.locator("#table-5 .table-state")).to_have_text("Open")
    audit(display, "display right after a visit ended")
    switch.off()
    expect(display.locator(".conn")).to_have_attribute("data-connection", "reconnecting")
    audit(display, "display reconnecting")


def test_admin(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "boss")
    add_staff(fresh, "ada")
    page = open_page("/login", viewport=LAPTOP)
    log_in(page, "boss")
    page.goto("/admin/")
    expect(page.locator("tr[data-staff='ada']")).to_be_visible()
    audit(page, "admin")


# ---- keyboard ---------------------------------------------------------------------------

FOCUS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  return { id: el.id, tag: el.tagName, text: (el.textContent || '').trim().slice(0, 40),
           table: el.dataset.table || null, visible: outline || style.boxShadow !== 'none' };
}"""


def tab_to(page: Page, wanted: Callable[[dict], bool], limit: int = 80) -> dict:
    """Press Tab until `wanted(focused)`; every control on the way must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        if focused["tag"] != "BODY":
            assert focused["visible"], f"no visible focus on {focused}"
        if wanted(focused):
            return focused
    raise AssertionError("never reached by keyboard")


def test_the_kiosk_by_keyboard_and_screen_reader(fresh: LiveServer, open_page: OpenPage) -> None:
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT)
    connected(kiosk)
    # What a screen reader announces for each control.
    expect(kiosk.get_by_role("textbox", name="Email")).to_have_attribute("id", "kiosk-email")
    expect(kiosk.get_by_role("textbox", name="Name")).to_have_attribute("id", "kiosk-name")
    expect(kiosk.get_by_role("button", name="Get in line")).to_be_visible()
    tab_to(kiosk, lambda f: f["id"] == "kiosk-email")
    kiosk.keyboard.type("ada@example.org")
    tab_to(kiosk, lambda f: f["id"] == "kiosk-name", limit=3)
    kiosk.keyboard.type("Ada Lovelace")
    tab_to(kiosk, lambda f: f["id"] == "kiosk-submit", limit=3)
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#kiosk-greeting")).to_have_text("Thanks, Ada!")
    # The confirmation's one control has the focus: Enter (or Space) is "Done".
    assert kiosk.evaluate(FOCUS)["id"] == "kiosk-done"
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#kiosk-form-view")).to_be_visible()


def test_the_staff_console_by_keyboard(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "ada")
    set_tables(fresh, 6)
    ticket = kiosk_sign_in(fresh, "grace@example.org", "Grace Hopper")
    staff = open_page("/login", viewport=LAPTOP)
    expect(staff.locator("input[name=username]")).to_be_focused()  # autofocus
    staff.keyboard.type("ada")
    staff.keyboard.press("Tab")
    staff.keyboard.type("password123")
    staff.keyboard.press("Enter")
    staff.wait_for_url("**/staff/")
    connected(staff)
    expect(staff.locator("#table-grid button")).to_have_count(6)
    for control in ("alerts", "logout"):
        tab_to(staff, lambda f, c=control: f["id"] == c)
    tab_to(staff, lambda f: f["table"] == "4")
    staff.keyboard.press("Enter")
    expect(staff.locator("#table-number")).to_have_text("4")
    tab_to(staff, lambda f: f["text"] == "Accept")
    staff.keyboard.press("Enter")
    expect(staff.locator("#serving-id")).to_have_text(str(ticket["id"]))
    tab_to(staff, lambda f: f["id"] == "complete")
    staff.keyboard.press("Space")
    expect(staff.locator("#serving-empty")).to_be_visible()
    tab_to(staff, lambda f: f["id"] == "leave")
    staff.keyboard.press("Enter")
    expect(staff.locator("#table-picker")).to_be_visible()


# ---- motion ----------------------------------------------------------------------------


def test_the_display_keeps_still_under_reduced_motion(
    fresh: LiveServer, open_page: OpenPage, desk: Callable[..., Desk]
) -> None:
    set_tables(fresh, 4)
    still = open_page("/display/", viewport=TV, reduced_motion="reduce")
    moving = open_page("/display/", viewport=TV)
    for display in (still, moving):
        connected(display)
        expect(display.locator("#waiting-count")).to_have_text("0")
    staff = desk("kim", 1)
    ticket = kiosk_sign_in(fresh, "v@example.org", "Vera Rubin")
    staff.drain()
    assert staff.ask(f"accept {ticket['id']}").startswith("success claimed")
    animation = "(el) => getComputedStyle(el).animationName"
    for display in (still, moving):
        expect(display.locator("#table-1")).to_have_class(re.compile(r"\bcalled\b"))
    assert moving.locator("#table-1").evaluate(animation) == "call"  # the test can tell
    assert still.locator("#table-1").evaluate(animation) == "none"
    assert still.evaluate(
        "() => [...document.querySelectorAll('*')].every((el) => ['', '::before', '::after']"
        "  .every((p) => getComputedStyle(el, p || null).animationName === 'none'))"
    )
