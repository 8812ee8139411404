"""The server restarts mid-session: every page notices, reconnects by itself and shows the
same state as before (the staff console re-picks its table, the lists are replayed)."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from tests.kit.artifacts import record
from tests.kit.browser import (
    KIOSK_PORTRAIT,
    LAPTOP,
    TV,
    OpenPage,
    add_staff,
    connected,
    log_in,
    pick_table,
    set_tables,
)
from tests.kit.live import LiveServer, kiosk_sign_in


def state_of(staff: Page, display: Page) -> dict[str, object]:
    return {
        "table": staff.locator("#table-number").inner_text(),
        "serving": staff.locator("#serving-name").inner_text(),
        "waiting": staff.locator("#waiting-list .row-name").all_inner_texts(),
        "shown": display.locator("#table-4 .table-name").inner_text(),
        "count": display.locator("#waiting-count").inner_text(),
    }


def test_all_pages_recover_after_a_restart(fresh: LiveServer, open_page: OpenPage) -> None:
    set_tables(fresh, 6)
    add_staff(fresh, "ada")
    display = open_page("/display/", viewport=TV)
    staff = open_page("/login", viewport=LAPTOP)
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    log_in(staff, "ada")
    pick_table(staff, 4)
    kiosk_sign_in(fresh, "lin@example.org", "Lin Clark")
    kiosk_sign_in(fresh, "rob@example.org", "Rob Pike")
    staff.locator("#waiting-list button.accept").first.click()
    expect(display.locator("#table-4 .table-name")).to_have_text("Lin C.")
    expect(display.locator("#waiting-count")).to_have_text("1")
    before = state_of(staff, display)
    expect(display.locator("#display-call")).to_have_attribute("data-calls", "1")
    assert before["waiting"] == ["Rob Pike"]

    pages = (kiosk, staff, display)
    stopping = time.monotonic()
    fresh.stop()
    for page in pages:
        expect(page.locator(".conn").first).to_have_attribute("data-connection", "reconnecting")
        expect(page.locator(".conn").first).to_have_text("Reconnecting…")
    started = time.monotonic()
    fresh.start()
    listening = time.monotonic()
    for page in pages:
        connected(page)
    recovered = time.monotonic()

    expect(display.locator("#table-4 .table-name")).to_have_text("Lin C.")
    expect(display.locator("#waiting-count")).to_have_text("1")
    expect(staff.locator("#waiting-list .row-name")).to_have_text(["Rob Pike"])
    expect(staff.locator("#serving-name")).to_have_text("Lin Clark")
    assert state_of(staff, display) == before
    # Nothing was announced again: the replayed call is not news.
    expect(display.locator("#display-call")).to_have_attribute("data-calls", "1")

    # And everything works after the restart: the kiosk signs someone in, staff see them.
    kiosk.fill("#kiosk-email", "ken@example.org")
    kiosk.fill("#kiosk-name", "Ken Thompson")
    kiosk.click("#kiosk-submit")
    expect(kiosk.locator("#kiosk-ticket-number")).to_have_text(re.compile(r"^\d+$"))
    expect(staff.locator("#waiting-list .row-name")).to_have_text(["Rob Pike", "Ken Thompson"])
    expect(display.locator("#waiting-count")).to_have_text("2")
    record("reconnect_after_restart", {
        "server_start_seconds": round(listening - started, 2),
        "stop_to_all_pages_connected_seconds": round(recovered - stopping, 2),
        "all_pages_connected_after_listening_seconds": round(recovered - listening, 2),
        "note": "backoff 400 ms doubling to 5 s, equal jitter; includes Playwright polling",
    })
