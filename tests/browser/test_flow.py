"""The three screens together in Chromium: a visitor signs in at the kiosk, a staff member
accepts them, the TV calls them to the right table; then complete and no-show."""

from __future__ import annotations

import gzip
import re

from playwright.sync_api import Page, expect

from tests.kit.artifacts import record
from tests.kit.browser import (
    KIOSK_LANDSCAPE,
    KIOSK_PORTRAIT,
    LAPTOP,
    SMALL_TV,
    TV,
    OpenPage,
    add_staff,
    connected,
    log_in,
    no_scroll,
    pick_table,
    screenshot,
    set_tables,
)
from tests.kit.live import LiveServer, kiosk_sign_in

XSS = "<img src=x onerror=alert(1)>"


def kiosk_submit(kiosk: Page, email: str, name: str) -> str:
    kiosk.fill("#kiosk-email", email)
    kiosk.fill("#kiosk-name", name)
    kiosk.click("#kiosk-submit")
    number = kiosk.locator("#kiosk-ticket-number")
    expect(number).to_have_text(re.compile(r"^\d+$"))
    return number.inner_text()


def test_kiosk_to_staff_to_display(fresh: LiveServer, open_page: OpenPage) -> None:
    set_tables(fresh, 8)
    add_staff(fresh, "ada")
    display = open_page("/display/", viewport=TV)
    connected(display)
    staff = open_page("/staff/", viewport=LAPTOP)
    log_in(staff, "ada")
    pick_table(staff, 3)
    expect(display.locator("#table-3")).to_have_class(re.compile(r"\bopen\b"))

    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    screenshot(kiosk, "kiosk-portrait-800x1280")
    grace = kiosk_submit(kiosk, "grace@example.org", "Grace Hopper")
    expect(kiosk.locator("#kiosk-greeting")).to_have_text("Thanks, Grace!")
    expect(kiosk.locator(".position")).to_have_text("You are next in line.")
    expect(kiosk.locator(".estimate")).to_have_count(0)  # no service history yet
    screenshot(kiosk, "kiosk-confirmation-portrait")

    row = staff.locator(f"#waiting-list li[data-ticket='{grace}']")
    expect(row.locator(".row-name")).to_have_text("Grace Hopper")
    expect(display.locator("#waiting-count")).to_have_text("1")
    kiosk_sign_in(fresh, "alan@example.org", "Alan Mathison Turing")
    expect(staff.locator("#waiting-count")).to_have_text("2")
    screenshot(staff, "staff-1366x768")
    row.locator("button.accept").click()
    expect(staff.locator("#serving-name")).to_have_text("Grace Hopper")
    expect(staff.locator("#serving-id")).to_have_text(grace)

    card = display.locator("#table-3")
    expect(card.locator(".table-ticket")).to_have_text(grace)
    expect(card.locator(".table-name")).to_have_text("Grace H.")
    expect(display.locator("#display-call")).to_have_text(
        f"Ticket {grace}, Grace H., please go to table 3"
    )
    expect(card).to_have_class(re.compile(r"\bcalled\b"))
    expect(display.locator("#waiting-count")).to_have_text("1")
    screenshot(display, "display-1920x1080")
    assert no_scroll(display)
    display.set_viewport_size(SMALL_TV)
    screenshot(display, "display-1280x720")
    assert no_scroll(display)
    screenshot(staff, "staff-serving-1366x768")

    staff.click("#complete")
    expect(staff.locator("#serving-empty")).to_be_visible()
    expect(card.locator(".table-ticket")).to_have_text("")
    expect(card.locator(".table-state")).to_have_text("Open")

    # The kiosk went back to an empty form by itself; the next visitor has an estimate.
    expect(kiosk.locator("#kiosk-form-view")).to_be_visible()
    expect(kiosk.locator("#kiosk-email")).to_have_value("")
    kiosk.set_viewport_size(KIOSK_LANDSCAPE)
    screenshot(kiosk, "kiosk-landscape-1280x800")
    kiosk_submit(kiosk, "edsger@example.org", "Edsger Dijkstra")
    expect(kiosk.locator(".position")).to_have_text("You are number 2 in line.")
    expect(kiosk.locator(".estimate")).to_have_text(re.compile(r"^Estimated wait: about \d+ min$"))
    screenshot(kiosk, "kiosk-confirmation-landscape")
    kiosk.click("#kiosk-done")
    expect(kiosk.locator("#kiosk-form-view")).to_be_visible()

    alan = staff.locator("#waiting-list li").first
    expect(alan.locator(".row-name")).to_have_text("Alan Mathison Turing")
    alan.locator("button.accept").click()
    expect(card.locator(".table-name")).to_have_text("Alan T.")
    staff.click("#no-show")
    expect(staff.locator("#serving-empty")).to_be_visible()
    expect(card.locator(".table-ticket")).to_have_text("")
    staff.click("#leave")
    expect(staff.locator("#table-picker")).to_be_visible()
    expect(card).to_have_class(re.compile(r"\bclosed\b"))


def test_autocomplete_fills_a_returning_visitor(fresh: LiveServer, open_page: OpenPage) -> None:
    kiosk_sign_in(fresh, "ada@example.org", "Ada Lovelace")
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    kiosk.locator("#kiosk-email").press_sequentially("Ada@Example.org", delay=20)
    expect(kiosk.locator("#kiosk-name")).to_have_value("Ada Lovelace")
    # A first-time visitor's name stays empty.
    kiosk.fill("#kiosk-email", "")
    kiosk.fill("#kiosk-name", "")
    kiosk.locator("#kiosk-email").press_sequentially("new@example.org", delay=20)
    kiosk.wait_for_timeout(800)  # past the debounce: a reply would have arrived by now
    expect(kiosk.locator("#kiosk-name")).to_have_value("")


def test_a_hostile_name_is_text_everywhere(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "grace")
    display = open_page("/display/", viewport=TV)
    staff = open_page("/staff/")
    log_in(staff, "grace")
    pick_table(staff, 1)
    kiosk_sign_in(fresh, "x@example.org", XSS)  # the visitor is already waiting
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    kiosk.locator("#kiosk-email").press_sequentially("x@example.org", delay=10)
    expect(kiosk.locator("#kiosk-name")).to_have_value(XSS)
    kiosk.click("#kiosk-submit")
    # No second ticket: the kiosk says so, with the name as text.
    expect(kiosk.locator("#kiosk-greeting")).to_have_text("You are already in line, <img!")

    rows = staff.locator("#waiting-list .row-name")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text(XSS)
    staff.locator("#waiting-list button.accept").first.click()
    expect(staff.locator("#serving-name")).to_have_text(XSS)
    expect(display.locator("#table-1 .table-name")).to_have_text("<img O.")
    expect(display.locator("#display-call")).to_contain_text("<img O.")
    for page in (kiosk, staff, display):
        # The only image is the kiosk's QR code of the follow link (served by us).
        assert page.locator("img:not(#kiosk-follow-qr)").count() == 0


def test_page_weight_is_recorded(fresh: LiveServer, open_page: OpenPage) -> None:
    """Bytes of HTML, CSS and JS each page loads (uncompressed and gzipped), for docs/pages.md."""
    add_staff(fresh, "ada")  # the first account: admin too
    page = open_page("/login")
    log_in(page, "ada")
    weights: dict[str, object] = {}
    for path in ("/", "/kiosk/", "/staff/", "/display/", "/admin/"):
        page.goto(path)
        assets = page.evaluate(
            """() => ({
                css: [...document.querySelectorAll('link[rel=stylesheet]')].map((l) => l.href),
                js: [...document.querySelectorAll('script[src]')].map((s) => s.src),
            })"""
        )
        totals: dict[str, int] = {}
        for kind, urls in (("html", [path]), ("css", assets["css"]), ("js", assets["js"])):
            bodies = [page.request.get(url).body() for url in urls]
            totals[kind] = sum(len(body) for body in bodies)
            totals[kind + "_gzip"] = sum(len(gzip.compress(body)) for body in bodies)
        weights[path] = totals
        assert totals["html"] > 0 and totals["css"] > 0
    record("page_weight_bytes", weights)


def test_screens_on_a_busy_morning(fresh: LiveServer, open_page: OpenPage, connect) -> None:
    """The screenshots in README.md: several tables open, some serving, a queue waiting."""
    set_tables(fresh, 10)
    visitors = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra",
                "Barbara Liskov", "Donald Knuth", "Frances Allen"]
    tickets = [kiosk_sign_in(fresh, f"v{n}@example.org", name) for n, name in enumerate(visitors)]
    for n, (username, table) in enumerate((("kim", 0), ("lee", 2), ("max", 5), ("noa", 7))):
        client = connect("/ws/staff")
        client.drain()
        assert client.ask(f"pick {table} {fresh.add_staff(username)}") == f"success pick {table}"
        if n < 3:
            client.drain()
            assert client.ask(f"accept {tickets[n]['id']}").startswith("success claimed")
    add_staff(fresh, "ana")
    display = open_page("/display/", viewport=TV)
    connected(display)
    expect(display.locator("#waiting-count")).to_have_text("4")
    staff = open_page("/login", viewport=LAPTOP)
    log_in(staff, "ana")
    pick_table(staff, 8)
    staff.locator("#waiting-list button.accept").first.click()
    expect(staff.locator("#serving-name")).to_have_text("Edsger Dijkstra")
    expect(display.locator("#table-8 .table-name")).to_have_text("Edsger D.")
    screenshot(display, "display-busy-1920x1080")
    assert no_scroll(display)
    display.set_viewport_size(SMALL_TV)
    screenshot(display, "display-busy-1280x720")
    assert no_scroll(display)
    screenshot(staff, "staff-busy-1366x768")
