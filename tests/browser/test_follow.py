"""A visitor follows their place on their phone, in Chromium with a phone's viewport and
touch: the kiosk shows the link, the phone hears the call within seconds, catches up after
being offline, and leaving the line takes the ticket off the staff console."""

from __future__ import annotations

import re
import shutil

from playwright.sync_api import Page, expect

from tests.kit.browser import (
    KIOSK_PORTRAIT,
    LAPTOP,
    OpenPage,
    add_staff,
    audit,
    connected,
    log_in,
    pick_table,
    screenshot,
)
from tests.kit.follow import sign_in_with_link
from tests.kit.live import ROOT, LiveServer

PHONE = {"width": 360, "height": 640}
SHOTS = ROOT / "docs" / "screenshots"


def phone_shot(page: Page, name: str) -> None:
    """Each state a visitor sees: a screenshot for docs/, and the accessibility audit."""
    shutil.copy(screenshot(page, name), SHOTS / f"{name}.png")
    audit(page, name)


def kiosk_link(kiosk: Page, email: str, name: str) -> str:
    kiosk.fill("#kiosk-email", email)
    kiosk.fill("#kiosk-name", name)
    kiosk.click("#kiosk-submit")
    expect(kiosk.locator("#kiosk-follow")).to_be_visible()
    expect(kiosk.locator(".kiosk-follow-label")).to_have_text("Follow your place on your phone")
    shown = kiosk.locator("#kiosk-follow-url").inner_text()
    assert re.fullmatch(r"127\.0\.0\.1:\d+/v/[A-Za-z0-9_-]{22}", shown), shown
    qr = kiosk.locator("#kiosk-follow-qr")
    expect(qr).to_have_js_property("complete", True)
    assert qr.evaluate("img => img.naturalWidth") > 0  # the QR code loaded under the CSP
    return "/" + shown.split("/", 1)[1]


def test_follow_call_offline_and_leave(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "ada")
    staff = open_page("/staff/", viewport=LAPTOP)
    log_in(staff, "ada")
    pick_table(staff, 5)
    sign_in_with_link(fresh, "first@example.org", "First Visitor")
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    path = kiosk_link(kiosk, "grace@example.org", "Grace Hopper")
    shutil.copy(screenshot(kiosk, "kiosk-follow-link-800x1280"),
                SHOTS / "kiosk-follow-link-800x1280.png")
    audit(kiosk, "kiosk with its follow link")

    phone = open_page(path, viewport=PHONE, touch=True)
    expect(phone.locator("#phone-conn")).to_have_attribute("data-connection", "connected")
    expect(phone.locator("#phone-headline")).to_have_text("1 person ahead of you")
    phone_shot(phone, "phone-waiting-360x640")

    # The visitor ahead is called: "You're next", live.
    staff.locator("#waiting-list li").first.locator("button.accept").click()
    expect(phone.locator("#phone-headline")).to_have_text("You're next")
    staff.click("#complete")
    expect(staff.locator("#serving-empty")).to_be_visible()

    # Offline while being called: the phone says so, and catches up once back online.
    phone.context.set_offline(True)
    expect(phone.locator("#phone-conn")).to_have_attribute("data-connection", "offline")
    phone_shot(phone, "phone-offline-360x640")
    row = staff.locator("#waiting-list li").first
    expect(row.locator(".row-name")).to_have_text("Grace Hopper")
    row.locator("button.accept").click()
    expect(staff.locator("#serving-name")).to_have_text("Grace Hopper")
    phone.context.set_offline(False)
    expect(phone.locator("#phone-call-words")).to_have_text("Go to table 5", timeout=5_000)
    expect(phone.locator("#phone-call")).to_be_visible()
    phone_shot(phone, "phone-call-360x640")
    phone.locator("#phone-call-ok").tap()
    expect(phone.locator("#phone-headline")).to_have_text("Being served at table 5")
    phone_shot(phone, "phone-serving-360x640")
    staff.click("#complete")
    expect(phone.locator("#phone-headline")).to_have_text("You've been served")
    phone_shot(phone, "phone-served-360x640")


def test_call_reaches_the_phone_within_3s(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "bob")
    staff = open_page("/staff/", viewport=LAPTOP)
    log_in(staff, "bob")
    pick_table(staff, 2)
    _, url = sign_in_with_link(fresh, "carl@example.org", "Carl")
    phone = open_page(url.removeprefix(fresh.base), viewport=PHONE, touch=True)
    expect(phone.locator("#phone-headline")).to_have_text("You're next")
    staff.locator("#waiting-list li").first.locator("button.accept").click()
    expect(phone.locator("#phone-call-words")).to_have_text("Go to table 2", timeout=3_000)


def test_leave_the_line_from_the_phone(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "cy")
    staff = open_page("/staff/", viewport=LAPTOP)
    log_in(staff, "cy")
    ticket_id, url = sign_in_with_link(fresh, "dora@example.org", "Dora Leaving")
    expect(staff.locator(f"#waiting-list li[data-ticket='{ticket_id}']")).to_have_count(1)
    phone = open_page(url.removeprefix(fresh.base), viewport=PHONE, touch=True)
    expect(phone.locator("#phone-conn")).to_have_attribute("data-connection", "connected")
    phone.locator("#phone-leave").tap()
    expect(phone.locator("#phone-confirm")).to_be_visible()
    phone_shot(phone, "phone-leave-confirm-360x640")
    phone.locator("#phone-stay").tap()
    expect(phone.locator("#phone-confirm")).to_be_hidden()
    expect(staff.locator(f"#waiting-list li[data-ticket='{ticket_id}']")).to_have_count(1)
    phone.locator("#phone-leave").tap()
    phone.locator("#phone-leave-yes").tap()
    expect(phone.locator("#phone-headline")).to_have_text("You left the line")
    expect(phone.locator("#phone-leave")).to_be_hidden()
    phone_shot(phone, "phone-left-360x640")
    expect(staff.locator(f"#waiting-list li[data-ticket='{ticket_id}']")).to_have_count(0)


def test_an_unknown_link_is_plain(fresh: LiveServer, open_page: OpenPage) -> None:
    page = open_page("/v/AAAAAAAAAAAAAAAAAAAAAA", viewport=PHONE, touch=True)
    expect(page.locator("h1")).to_have_text("This link is no longer valid")
    phone_shot(page, "phone-link-invalid-360x640")
