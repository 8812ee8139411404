"""Running the floor in Chromium: step away and back, put a visitor back in line, and what
the display and the kiosk show for it (screenshots for docs/screenshots)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.kit.browser import (
    KIOSK_PORTRAIT,
    LAPTOP,
    TV,
    OpenPage,
    add_staff,
    admin_page,
    audit,
    connected,
    log_in,
    pick_table,
    screenshot,
    set_tables,
)
from tests.kit.live import LiveServer, kiosk_sign_in

SERVER_ENV = {"RATE_LIMITS": "off"}


def test_step_away_shows_back_soon_and_put_back_returns_the_visitor(
        fresh: LiveServer, open_page: OpenPage) -> None:
    set_tables(fresh, 6)
    add_staff(fresh, "ada")
    grace = kiosk_sign_in(fresh, "grace@example.org", "Grace Hopper")
    display = open_page("/display/", viewport=TV)
    connected(display)
    staff = open_page("/staff/", viewport=LAPTOP)
    log_in(staff, "ada")
    pick_table(staff, 2)
    card = display.locator("#table-2")
    expect(card.locator(".table-state")).to_have_text("Open")

    staff.click("#away")
    expect(staff.locator("#away-note")).to_be_visible()
    expect(staff.locator("#back")).to_be_visible()
    expect(staff.locator("#waiting-list button.accept")).to_be_disabled()
    expect(card).to_have_class(re.compile(r"\baway\b"))
    expect(card.locator(".table-state")).to_have_text("Back soon")
    screenshot(display, "display-back-soon-1920x1080")
    audit(display, "display with a table back soon")
    audit(staff, "staff console, away")
    staff.reload()  # the page remembers: still away after a reload
    connected(staff)
    expect(staff.locator("#away-note")).to_be_visible()

    staff.click("#back")
    expect(staff.locator("#away-note")).to_be_hidden()
    expect(card.locator(".table-state")).to_have_text("Open")
    row = staff.locator(f"#waiting-list li[data-ticket='{grace['id']}']")
    row.locator("button.accept").click()
    expect(staff.locator("#serving-name")).to_have_text("Grace Hopper")
    expect(card.locator(".table-ticket")).to_have_text(str(grace["id"]))

    staff.click("#put-back")
    expect(staff.locator("#serving-empty")).to_be_visible()
    expect(row.locator(".row-name")).to_have_text("Grace Hopper")  # waiting again
    expect(card.locator(".table-ticket")).to_have_text("")
    expect(card.locator(".table-state")).to_have_text("Open")


def test_an_announcement_from_admin_shows_on_every_screen_and_clears_at_once(
        fresh: LiveServer, open_page: OpenPage) -> None:
    set_tables(fresh, 6)
    add_staff(fresh, "boss")
    add_staff(fresh, "ada")
    kiosk_sign_in(fresh, "grace@example.org", "Grace Hopper")
    display = open_page("/display/", viewport=TV)
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    staff = open_page("/staff/", viewport=LAPTOP)
    log_in(staff, "ada")
    pick_table(staff, 1)
    for page in (display, kiosk):
        connected(page)
    admin = admin_page(open_page)
    text = "The printer is down — please bring a paper copy of your documents."
    admin.fill("#announce-text", text)
    admin.fill("#announce-minutes", "30")
    admin.click("#announce-post")
    expect(admin.locator("#admin-announcement")).to_have_text(text)
    for page in (display, kiosk, staff):
        expect(page.locator("#floor-banner")).to_have_text(text)
        expect(page.locator("#floor-banner")).to_be_visible()
    staff.click("#away")  # for the screenshot: a table "Back soon" beside the banner
    expect(display.locator("#table-1 .table-state")).to_have_text("Back soon")
    screenshot(display, "display-announcement-1920x1080")
    expect(staff.locator("#away-note")).to_be_visible()
    screenshot(staff, "staff-away-announcement-1366x768")
    audit(display, "display with an announcement")
    audit(kiosk, "kiosk with an announcement")
    audit(staff, "staff console with an announcement")
    screenshot(kiosk, "kiosk-announcement-800x1280")
    # A reload (a reconnect) shows it again while it is current.
    kiosk.reload()
    expect(kiosk.locator("#floor-banner")).to_have_text(text)
    admin.click("#announce-clear")
    expect(admin.locator("#admin-announcement-none")).to_be_visible()
    for page in (display, kiosk, staff):
        expect(page.locator("#floor-banner")).to_be_hidden()


def test_a_closed_line_shows_on_the_kiosk_and_refuses_sign_in(
        fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "boss")
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    expect(kiosk.locator("#kiosk-form")).to_be_visible()
    fresh.flask("hours", "set", "mon-fri 09:00-17:00", "sat 10:00-13:00")
    fresh.flask("line", "close")  # closed now whatever the clock says
    expect(kiosk.locator("#floor-closed")).to_be_visible()
    expect(kiosk.locator("#floor-closed-when")).to_have_text(
        re.compile(r"^Closed — we open (today|tomorrow|Monday|Tuesday|Wednesday|Thursday|"
                   r"Friday|Saturday) at (09|10):00\.$"))
    expect(kiosk.locator("#kiosk-form")).to_be_hidden()
    screenshot(kiosk, "kiosk-closed-800x1280")
    audit(kiosk, "kiosk closed")
    admin = admin_page(open_page)
    audit(admin, "admin, floor section")
    expect(admin.locator("#admin-line")).to_contain_text("Closed")
    admin.click("#line-switch")
    expect(admin.locator("#admin-line")).to_contain_text("Open")
    expect(kiosk.locator("#kiosk-form")).to_be_visible()
    expect(kiosk.locator("#floor-closed")).to_be_hidden()
    admin.fill("#hours-text", "mon-xx 09:00-17:00")
    admin.click("#hours-save")
    expect(admin.locator("#admin-floor .error")).to_contain_text("is not a day")
    admin.click("#hours-clear")
    expect(admin.locator("#admin-floor .notice")).to_contain_text("No opening hours")
