"""Sites in Chromium: two offices side by side (a kiosk at north, displays at north and
south: south's TV shows nothing of north's visitor, and its socket carries nothing of
them), the landing page of sites, the admin's list of sites; screenshots of each."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, WebSocket, expect

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
)
from tests.kit.live import LiveServer

SERVER_ENV = {"SITE_NAME": "Front desk"}  # the default site's name, as a deployment sets it


def add_site(server: LiveServer, slug: str, name: str, tables: int,
             timezone: str = "Europe/Berlin") -> None:
    """As `flask site add` would, in this process; back once the server serves it. Each
    slug is used once in this module (readable in the screenshots): `fresh` removes the
    sites, and a worker may remember a removed slug's site until its next poll."""
    from tablequeue.db import unit_of_work
    from tablequeue.service import sites

    with server.app.app_context(), unit_of_work() as session:
        if sites.find(session, slug) is None:
            sites.add(session, slug, name, tables=tables, timezone=timezone)
    started = time.monotonic()
    while server.http("GET", f"/s/{slug}/kiosk/")[0] != 200:
        assert time.monotonic() < started + 10, f"/s/{slug}/ never served"
        time.sleep(0.1)
    if int(server.env.get("WEB_CONCURRENCY") or 1) > 1:  # every worker reads it at its poll
        poll = float(server.env.get("FLOOR_POLL_SECONDS") or 1)
        time.sleep(max(0.0, started + poll + 0.5 - time.monotonic()))


def work_at(server: LiveServer, username: str, slug: str) -> None:
    """As `flask staff sites USERNAME SLUG`: the account works at that site only."""
    from sqlalchemy import select

    from tablequeue.db import unit_of_work
    from tablequeue.models import Staff
    from tablequeue.service import sites

    with server.app.app_context(), unit_of_work() as session:
        staff = session.scalar(select(Staff.id).where(Staff.username == username))
        site = sites.find(session, slug)
        assert staff is not None and site is not None
        sites.set_sites(session, staff, [site.id])


def close_line(server: LiveServer, slug: str) -> None:
    """As `flask line close --site SLUG`."""
    from tablequeue.db import unit_of_work
    from tablequeue.service import floor, sites

    with server.app.app_context():
        with unit_of_work() as session:
            site = sites.find(session, slug)
        assert site is not None
        floor.set_line("closed", site=site.id)


def frames_of(page: Page, into: list[str]) -> None:
    """Keep every frame the page's websockets receive (an open_page `before` hook)."""

    def watch(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: into.append(str(payload)))

    page.on("websocket", watch)


def test_two_sites_side_by_side(fresh: LiveServer, open_page: OpenPage) -> None:
    add_site(fresh, "north", "North office", tables=6)
    add_site(fresh, "south", "South office", tables=4)
    add_staff(fresh, "boss", admin=True)
    add_staff(fresh, "ada")
    add_staff(fresh, "bob")
    work_at(fresh, "ada", "north")
    work_at(fresh, "bob", "south")

    north_tv = open_page("/s/north/display/", viewport=TV)
    south_frames: list[str] = []
    south_tv = open_page("/s/south/display/", viewport=TV,
                         before=lambda page: frames_of(page, south_frames))
    for tv, site, cards in ((north_tv, "North office", 6), (south_tv, "South office", 4)):
        connected(tv)
        expect(tv.locator("#display-site")).to_have_text(site)
        expect(tv.locator(".table-card")).to_have_count(cards)
    ada = open_page("/login", viewport=LAPTOP)
    log_in(ada, "ada")  # /staff/ takes her to her one site's console
    expect(ada).to_have_url(re.compile(r"/s/north/staff/$"))
    pick_table(ada, 2)
    expect(north_tv.locator("#table-2")).to_have_class(re.compile(r"\bopen\b"))

    kiosk = open_page("/s/north/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    expect(kiosk.locator("#kiosk-site")).to_have_text("North office")
    kiosk.fill("#kiosk-email", "grace@example.org")
    kiosk.fill("#kiosk-name", "Grace Hopper")
    kiosk.click("#kiosk-submit")
    number = kiosk.locator("#kiosk-ticket-number")
    expect(number).to_have_text(re.compile(r"^\d+$"))
    grace = number.inner_text()
    expect(north_tv.locator("#waiting-count")).to_have_text("1")

    ada.locator(f"#waiting-list li[data-ticket='{grace}'] button.accept").click()
    expect(ada.locator("#serving-name")).to_have_text("Grace Hopper")
    card = north_tv.locator("#table-2")
    expect(card.locator(".table-ticket")).to_have_text(grace)
    expect(card.locator(".table-name")).to_have_text("Grace H.")
    expect(north_tv.locator("#display-call")).to_have_text(
        f"Ticket {grace}, Grace H., please go to table 2")

    # South hears its own floor (bob opens table 1) and nothing of north's.
    bob = open_page("/login", viewport=LAPTOP)
    log_in(bob, "bob")
    pick_table(bob, 1)
    expect(south_tv.locator("#table-1")).to_have_class(re.compile(r"\bopen\b"))
    expect(bob.locator("#waiting-empty")).to_be_visible()
    expect(south_tv.locator("#waiting-count")).to_have_text("0")
    expect(south_tv.locator(".table-card.busy")).to_have_count(0)
    assert "Grace" not in south_tv.locator("body").inner_text()
    assert "Welcome! Sign in at the kiosk by the door." in south_tv.locator(
        "#display-call").inner_text()
    leaked = [f for f in south_frames if "Grace" in f or re.search(rf'"id":\s*{grace}\b', f)]
    assert south_frames and leaked == [], leaked
    screenshot(north_tv, "display-site-1920x1080")

    # bob's console at north: it says so, and shows nothing of north's line.
    refused = bob.goto("/s/north/staff/")
    assert refused is not None and refused.status == 403
    expect(bob.locator("#forbidden")).to_have_text(
        "You do not work at North office: its queue is for its own staff.")
    expect(bob.locator("#your-sites a")).to_have_attribute("href", "/s/south/staff/")
    assert "Grace" not in bob.locator("body").inner_text()
    audit(bob, "a console at another site")


def test_landing_page_and_the_admins_list_of_sites(fresh: LiveServer,
                                                   open_page: OpenPage) -> None:
    add_site(fresh, "east", "East office", tables=6)
    add_site(fresh, "west", "West office", tables=4, timezone="America/Chicago")
    add_site(fresh, "careers", "Careers & internships", tables=3, timezone="Europe/London")
    add_staff(fresh, "boss", admin=True)
    close_line(fresh, "west")
    landing = open_page("/", viewport=LAPTOP)
    cards = landing.locator(".site-card")
    expect(cards).to_have_count(4)
    expect(cards.first.locator("h2")).to_have_text("Careers & internships")
    audit(landing, "landing page")
    screenshot(landing, "sites-landing-1366x768")
    landing.click("a[aria-label='Display of West office']")
    expect(landing).to_have_url(re.compile(r"/s/west/display/$"))
    connected(landing)

    admin = admin_page(open_page)
    admin.goto("/admin/sites/")
    expect(admin.locator("#admin-sites tbody tr")).to_have_count(4)
    admin.fill("#add-site input[name=slug]", "annex")
    admin.fill("#add-site input[name=name]", "The Annex")
    admin.fill("#add-site input[name=tables]", "5")
    admin.fill("#add-site input[name=timezone]", "Asia/Tokyo")
    admin.click("#add-site button[type=submit]")
    expect(admin.locator("#admin-sites .notice")).to_have_text("Added The Annex at /s/annex/.")
    expect(admin.locator("#admin-sites tbody tr")).to_have_count(5)
    row = admin.locator("tr[data-site='east']")
    row.locator("summary").click()
    row.locator("input[name=confirm]").fill("east")
    row.locator("button", has_text="Remove east").click()
    expect(admin.locator("#admin-sites .notice")).to_have_text(
        "Removed East office and everything it kept.")
    expect(admin.locator("#admin-sites tbody tr")).to_have_count(4)
    expect(admin.locator("tr[data-site='west'] .state-closed")).to_have_text("Closed")
    audit(admin, "sites list")
    admin.evaluate("window.scrollTo(0, 0)")  # the form scrolled the page to the notice
    screenshot(admin, "sites-admin-1366x768")
