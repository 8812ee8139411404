"""Running the floor in Chromium: step away and back, put a visitor back in line, and what
the display and the kiosk show for it (screenshots for docs/screenshots)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser_kit import (  # noqa: F401  (fixtures)
    LAPTOP, TV, OpenPage, add_staff, browser, connected, kiosk_sign_in, log_in, open_page,
    pick_table, screenshot, set_tables,
)
from tests.live import LiveServer

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
