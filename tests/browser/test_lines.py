"""Service lines in Chromium (docs/lines.md): the kiosk with three lines ("What brings you
in today?", by keyboard, the ticket naming its line, the buttons following the lines as
they close), a console serving two of three lines (its boxes, each ticket's line, priority
with its reason, Next), a transfer seen on the visitor's phone; screenshots for the docs
and the accessibility audit of each new screen. Priority reasons stay on staff screens."""

from __future__ import annotations

import re
import shutil

from playwright.sync_api import Page, WebSocket, expect

from tests.kit.browser import (
    KIOSK_PORTRAIT,
    LAPTOP,
    OpenPage,
    add_staff,
    admin_page,
    audit,
    connected,
    log_in,
    pick_table,
    screenshot,
)
from tests.kit.database import rows
from tests.kit.lines import add_lines, set_open
from tests.kit.live import ROOT, LiveServer

PHONE = {"width": 360, "height": 640}
SHOTS = ROOT / "docs" / "screenshots"
SECRET = "wheelchair user, SECRET-7"  # a priority reason: staff screens only


def shot(page: Page, name: str) -> None:
    """A state people see: a screenshot for docs/ and the accessibility audit."""
    shutil.copy(screenshot(page, name), SHOTS / f"{name}.png")
    audit(page, name)


def frames_of(into: list[str]) -> object:
    """An open_page `before` hook keeping every frame the page's websockets receive."""

    def hook(page: Page) -> None:
        def watch(socket: WebSocket) -> None:
            socket.on("framereceived", lambda payload: into.append(str(payload)))

        page.on("websocket", watch)

    return hook


def sign_in(kiosk: Page, email: str, name: str) -> str:
    kiosk.fill("#kiosk-email", email)
    kiosk.fill("#kiosk-name", name)
    kiosk.click("#kiosk-submit")
    number = kiosk.locator("#kiosk-ticket-number")
    expect(number).to_have_text(re.compile(r"^\d+$"))
    return number.inner_text()


def join(server: LiveServer, line: int, email: str, name: str) -> int:
    kiosk = server.connect("/ws/kiosk")
    try:
        reply = kiosk.answer(f"join {line} {email} {name}")
    finally:
        kiosk.close()
    assert reply.startswith("success join "), reply
    return int(re.search(r'"id":(\d+)', reply).group(1))  # type: ignore[union-attr]


def test_kiosk_with_three_lines(fresh: LiveServer, open_page: OpenPage) -> None:
    ids = add_lines(fresh, "Financial aid", "Transcripts")
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    expect(kiosk.locator("#kiosk-lines-title")).to_have_text("What brings you in today?")
    expect(kiosk.locator("#kiosk-form-view")).to_be_hidden()
    choices = kiosk.locator("#kiosk-lines button")
    expect(choices).to_have_text(["General", "Financial aid", "Transcripts"])
    shot(kiosk, "kiosk-lines-800x1280")

    # By keyboard alone: Tab to the second line, Enter, and the email field has the focus.
    kiosk.keyboard.press("Tab")
    kiosk.keyboard.press("Tab")
    expect(choices.nth(1)).to_be_focused()
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#kiosk-email")).to_be_focused()
    expect(kiosk.locator("#kiosk-chosen-name")).to_have_text("Financial aid")
    audit(kiosk, "kiosk form for a chosen line")
    number = sign_in(kiosk, "grace@example.org", "Grace Hopper")
    expect(kiosk.locator("#kiosk-ticket-line")).to_have_text("Financial aid")
    expect(kiosk.locator(".position")).to_have_text("You are next in line.")
    shot(kiosk, "kiosk-lines-ticket-800x1280")
    assert rows(fresh, "SELECT line_id FROM tickets WHERE id = :id", id=int(number)) == [
        (ids["Financial aid"],)]

    # Done: the next visitor is asked again. Changing one's mind goes back to the question.
    kiosk.click("#kiosk-done")
    expect(kiosk.locator("#kiosk-lines-view")).to_be_visible()
    choices.nth(2).click()
    expect(kiosk.locator("#kiosk-chosen-name")).to_have_text("Transcripts")
    kiosk.click("#kiosk-change-line")
    expect(choices.first).to_be_focused()

    # Lines closing reach the open kiosk: two open lines, two buttons; one, no question.
    set_open(fresh, ids["Transcripts"], False)
    expect(choices).to_have_text(["General", "Financial aid"])
    set_open(fresh, ids["General"], False)
    expect(kiosk.locator("#kiosk-form-view")).to_be_visible()
    expect(kiosk.locator("#kiosk-lines-view")).to_be_hidden()
    expect(kiosk.locator("#kiosk-chosen-name")).to_have_text("Financial aid")
    expect(kiosk.locator("#kiosk-change-line")).to_be_hidden()
    number = sign_in(kiosk, "alan@example.org", "Alan Turing")
    expect(kiosk.locator("#kiosk-ticket-line")).to_have_text("Financial aid")
    assert rows(fresh, "SELECT line_id FROM tickets WHERE id = :id", id=int(number)) == [
        (ids["Financial aid"],)]


def test_one_line_kiosk_is_as_before(fresh: LiveServer, open_page: OpenPage) -> None:
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    expect(kiosk.locator("#kiosk-form-view")).to_be_visible()
    expect(kiosk.locator("#kiosk-lines-view")).to_be_hidden()
    expect(kiosk.locator("#kiosk-chosen")).to_be_hidden()
    sign_in(kiosk, "grace@example.org", "Grace Hopper")
    expect(kiosk.locator("#kiosk-ticket-line")).to_have_count(0)


def test_console_serving_two_of_three_lines(fresh: LiveServer, open_page: OpenPage) -> None:
    ids = add_lines(fresh, "Financial aid", "Transcripts")
    add_staff(fresh, "ada")
    grace = join(fresh, ids["Financial aid"], "grace@example.org", "Grace Hopper")
    alan = join(fresh, ids["General"], "alan@example.org", "Alan Turing")
    tina = join(fresh, ids["Transcripts"], "tina@example.org", "Tina Tran")
    kate = join(fresh, ids["Financial aid"], "kate@example.org", "Kate Johnson")
    frames: list[str] = []
    staff = open_page("/login", viewport=LAPTOP, before=frames_of(frames))
    log_in(staff, "ada")
    pick_table(staff, 3)
    rows_ = staff.locator("#waiting-list li")
    expect(rows_).to_have_count(4)  # every line by default
    # By keyboard: the box keeps the focus while the list is redrawn under it.
    staff.get_by_label("Transcripts").focus()
    staff.keyboard.press("Space")
    expect(rows_).to_have_count(3)
    expect(staff.get_by_label("Transcripts")).to_be_focused()
    expect(staff.get_by_label("Transcripts")).not_to_be_checked()
    expect(staff.locator(f"#waiting-list li[data-ticket='{tina}']")).to_have_count(0)
    expect(staff.locator(f"#waiting-list li[data-ticket='{grace}'] .line-tag")).to_have_text(
        "Financial aid")
    # Kept for the account at this site: a reload still serves two lines.
    staff.reload()
    connected(staff)
    expect(staff.get_by_label("Transcripts")).not_to_be_checked()
    expect(staff.get_by_label("Financial aid")).to_be_checked()
    expect(rows_).to_have_count(3)

    # Priority: a reason, staff only; Kate goes before Grace in Financial aid.
    staff.locator(f"#waiting-list li[data-ticket='{kate}'] button.mark-priority").click()
    expect(staff.locator("#priority-dialog")).to_be_visible()
    expect(staff.locator("#priority-reason")).to_be_focused()
    staff.fill("#priority-reason", SECRET)
    audit(staff, "priority dialog")
    staff.click("#priority-save")
    expect(staff.locator("#priority-dialog")).to_be_hidden()
    expect(staff.locator(f"#waiting-list li[data-ticket='{kate}'] .priority-tag")).to_have_text(
        "Priority: " + SECRET)
    # Next's order: of the lines' heads the earliest arrival, priority first within a line.
    for place, ticket in enumerate((alan, kate, grace)):
        expect(rows_.nth(place)).to_have_attribute("data-ticket", str(ticket))
    shot(staff, "console-lines-1366x768")

    staff.click("#next")
    expect(staff.locator("#serving-name")).to_have_text("Alan Turing")
    expect(staff.locator("#serving-line")).to_have_text("General")
    expect(staff.locator("#transfer button")).to_have_text(
        ["Transfer to Financial aid", "Transfer to Transcripts"])
    shot(staff, "console-lines-serving-1366x768")
    staff.click("#complete")
    staff.click("#next")
    expect(staff.locator("#serving-name")).to_have_text("Kate Johnson")
    assert any('"priority":' in f for f in frames)  # line-aware frames carry the reason


def test_transfer_seen_on_the_phone(fresh: LiveServer, open_page: OpenPage) -> None:
    ids = add_lines(fresh, "Financial aid", "Transcripts")
    add_staff(fresh, "ada")
    staff = open_page("/login", viewport=LAPTOP)
    log_in(staff, "ada")
    pick_table(staff, 3)

    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    kiosk.locator("#kiosk-lines button", has_text="General").click()
    number = sign_in(kiosk, "grace@example.org", "Grace Hopper")
    expect(kiosk.locator("#kiosk-follow")).to_be_visible()
    path = "/" + kiosk.locator("#kiosk-follow-url").inner_text().split("/", 1)[1]

    phone_frames: list[str] = []
    phone = open_page(path, viewport=PHONE, touch=True, before=frames_of(phone_frames))
    expect(phone.locator("#phone-conn")).to_have_attribute("data-connection", "connected")
    expect(phone.locator("#phone-line")).to_have_text("General")
    expect(phone.locator("#phone-headline")).to_have_text("You're next")

    # Staff mark her priority (the phone never hears why), then call her and transfer her.
    row = staff.locator(f"#waiting-list li[data-ticket='{number}']")
    row.locator("button.mark-priority").click()
    staff.fill("#priority-reason", SECRET)
    staff.click("#priority-save")
    expect(row.locator(".priority-tag")).to_be_visible()
    row.locator("button.accept").click()
    expect(phone.locator("#phone-call-words")).to_have_text("Go to table 3")
    phone.click("#phone-call-ok")
    staff.click("#transfer >> text=Transfer to Financial aid")
    expect(staff.locator("#serving-empty")).to_be_visible()
    expect(phone.locator("#phone-line")).to_have_text("Financial aid")
    expect(phone.locator("#phone-headline")).to_have_text("You're next")
    shot(phone, "phone-transferred-360x640")
    # Back in ada's list (she serves every line), in the new line, keeping her ticket.
    moved = staff.locator(f"#waiting-list li[data-ticket='{number}']")
    expect(moved.locator(".line-tag")).to_have_text("Financial aid")
    assert rows(fresh, "SELECT line_id FROM tickets WHERE id = :id", id=int(number)) == [
        (ids["Financial aid"],)]

    for page in (phone, kiosk):
        assert "SECRET-7" not in page.content()
    assert phone_frames and not any("SECRET-7" in f for f in phone_frames)
    phone.reload()
    expect(phone.locator("#phone-line")).to_have_text("Financial aid")
    assert "SECRET-7" not in phone.content()


def test_admin_lines_and_reports_per_line(fresh: LiveServer, open_page: OpenPage) -> None:
    add_lines(fresh, "Financial aid", "Transcripts")
    add_staff(fresh, "boss", admin=True)
    page = admin_page(open_page)
    section = page.locator("#admin-lines")
    expect(section.locator("tbody tr")).to_have_count(3)
    page.fill("#line-new-name", "Passports")
    page.click("#line-add")
    expect(section.locator(".notice")).to_have_text("Added the line Passports.")
    expect(section.locator("tbody tr")).to_have_count(4)
    page.get_by_role("button", name="Close Transcripts").click()
    expect(section.locator("tr[data-line-name='Transcripts'] td").first).to_have_text("Closed")
    section.evaluate("section => section.scrollIntoView({block: 'start'})")
    shot(page, "admin-lines-1366x768")
    page.goto("/admin/reports")
    expect(page.locator("#table-lines tbody tr")).to_have_count(4)
    audit(page, "reports with lines")
