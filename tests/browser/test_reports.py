"""/admin/reports in Chromium: the period switch over htmx, the charts, the CSV download;
and the staff console's times in the site's zone."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.kit import report_data as data
from tests.kit.browser import LAPTOP, PASSWORD, OpenPage, add_staff, log_in, pick_table, screenshot
from tests.kit.live import LiveServer, kiosk_sign_in

SERVER_ENV = {"TIMEZONE": data.ZONE_NAME}


@pytest.fixture(scope="module")
def history(server: LiveServer) -> Iterator[list[data.T]]:
    server.reset()
    tickets = data.generate()
    data.load(server, tickets)
    yield tickets
    server.reset()


def reports_page(open_page: OpenPage, path: str) -> Page:
    page = open_page(path, viewport=LAPTOP)
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/reports**")
    return page


def test_period_switch_charts_and_csv(server: LiveServer, open_page: OpenPage,
                                      history: list[data.T]) -> None:
    page = reports_page(open_page, "/admin/reports?period=7d")
    expect(page.locator("a.chip.active")).to_have_text("Last 7 days")
    marker = page.evaluate("() => (window.__loaded = 'same page')")

    # A from-to range: swapped in by htmx (the page is not reloaded), the URL says which.
    page.fill("input[name=from]", data.FIRST.isoformat())
    page.fill("input[name=to]", data.LAST.isoformat())
    page.click(".range button[type=submit]")
    expect(page.locator("#report-period")).to_have_attribute("data-from", data.FIRST.isoformat())
    expect(page).to_have_url(re.compile(r"from=2026-03-05&to=2026-03-12"))
    assert page.evaluate("() => window.__loaded") == marker
    want = data.expected(history)
    expect(page.locator("[data-figure=visitors] dd")).to_have_text(str(want["figures"]["visitors"]))
    for chart in ("hours", "days", "waits", "heat", "staff", "tables"):
        expect(page.locator(f"svg#chart-{chart}")).to_be_visible()
    expect(page.locator("#chart-hours rect.col")).to_have_count(24)
    expect(page.locator("#chart-heat rect.cell")).to_have_count(7 * 24)
    expect(page.locator("#chart-days rect.col")).to_have_count(8)
    screenshot(page, "reports-1366x768")
    page.set_viewport_size({"width": 1366, "height": 3200})
    screenshot(page, "reports-full-1366")
    page.set_viewport_size(LAPTOP)

    with page.expect_download() as info:
        page.click("#csv-download")
    download = info.value
    assert download.suggested_filename == "tablequeue-2026-03-05-to-2026-03-12.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as file:
        text = file.read()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1:] == data.csv_rows(history)

    # Back to a preset, then the browser's Back button returns to the range.
    page.click("a.chip[data-period=yesterday]")
    expect(page.locator("a.chip.active")).to_have_text("Yesterday")
    expect(page).to_have_url(re.compile(r"period=yesterday"))
    assert page.evaluate("() => window.__loaded") == marker
    page.go_back()
    expect(page).to_have_url(re.compile(r"from=2026-03-05"))
    expect(page.locator("#report-period")).to_have_attribute("data-from", data.FIRST.isoformat())

    page.emulate_media(media="print")
    expect(page.locator(".period-picker")).to_be_hidden()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


def test_staff_console_shows_times_in_the_site_zone(server: LiveServer, open_page: OpenPage,
                                                    history: list[data.T]) -> None:
    """TIMEZONE, not the laptop's clock (this machine's Chromium runs in UTC): the sign-in
    time of the visitor being served is Chicago's."""
    from datetime import datetime

    add_staff(server, "zoe")
    staff = open_page("/login")
    log_in(staff, "zoe")
    pick_table(staff, 9)
    ticket = kiosk_sign_in(server, "tz@example.org", "Tia Zone")
    staff.locator(f"#waiting-list li[data-ticket='{ticket['id']}'] button.accept").click()
    expect(staff.locator("#serving-waited")).to_contain_text("Signed in at")
    start = datetime.fromisoformat(str(ticket["start"]).replace("Z", "+00:00"))
    local, utc = start.astimezone(data.ZONE), start
    shown = staff.locator("#serving-waited").inner_text()
    assert local.strftime("%I:%M") in shown or local.strftime("%H:%M") in shown, shown
    assert utc.strftime("%I:%M") not in shown and utc.strftime("%H:%M") not in shown, shown
