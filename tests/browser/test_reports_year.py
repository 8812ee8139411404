"""/admin/reports on a realistic year (the bench's generator, 40,000 tickets): the figures
for the last 30 days match the generated data, the accessibility audit, and the
screenshots for docs/pages.md."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.kit.browser import LAPTOP, PASSWORD, OpenPage, add_staff, audit, screenshot
from tests.kit.live import LiveServer
from tests.kit.report_year import load, tickets

ZONE_NAME = "Europe/Berlin"
SERVER_ENV = {"TIMEZONE": ZONE_NAME}
COUNT = 40_000


def test_a_year_of_tickets(server: LiveServer, open_page: OpenPage) -> None:
    from tablequeue.service.reports.period import today

    zone = ZoneInfo(ZONE_NAME)
    server.reset()
    last = today(zone)
    load(server.engine(), COUNT, last, zone)
    add_staff(server, "boss", admin=True)
    first = last - timedelta(days=29)
    in_month = [t for t in tickets(COUNT, last, zone)
                if first <= t[7].replace(tzinfo=UTC).astimezone(zone).date() <= last]

    page = open_page("/admin/reports?period=30d", viewport=LAPTOP)
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/admin/reports**")
    expect(page.locator("[data-figure=visitors] dd")).to_have_text(str(len(in_month)))
    served = sum(1 for t in in_month if t[4] == "completed")
    expect(page.locator("[data-figure=served] dd")).to_have_text(str(served))
    expect(page.locator("#chart-days rect.col")).to_have_count(30)
    audit(page, "reports, last 30 days")
    screenshot(page, "reports-30days-1366x768")
    page.set_viewport_size({"width": 1366, "height": 3000})
    screenshot(page, "reports-30days-full-1366")
    page.set_viewport_size(LAPTOP)
    page.click("a.chip[data-period='7d']")
    expect(page.locator("#chart-days rect.col")).to_have_count(7)
    audit(page, "reports, last 7 days (after an htmx swap)")
