"""/admin in Chromium: staff accounts, the number of tables, closing the day."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.kit.browser import (
    LAPTOP,
    PASSWORD,
    TV,
    OpenPage,
    add_staff,
    admin_page,
    connected,
    log_in,
    pick_table,
    screenshot,
    set_tables,
)
from tests.kit.live import LiveServer, kiosk_sign_in


def test_admin_is_for_admins_only(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "boss")  # the first account is the admin
    add_staff(fresh, "ada")
    anonymous = open_page("/admin/")
    expect(anonymous).to_have_url(re.compile(r"/login\?next="))
    staff = open_page("/login")
    log_in(staff, "ada")
    response = staff.goto("/admin/")
    assert response is not None and response.status == 403


def test_staff_accounts(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "boss")
    admin = admin_page(open_page)
    admin.fill("#admin-staff input[name=username]", "carol smith")
    admin.fill("#admin-staff .add-staff input[name=password]", "carol-pass-1")
    admin.click("#admin-staff .add-staff button[type=submit]")
    expect(admin.locator("#admin-staff .error")).to_contain_text("A username is 1 to 32 letters")
    admin.fill("#admin-staff input[name=username]", "carol")
    admin.fill("#admin-staff .add-staff input[name=password]", "carol-pass-1")
    admin.click("#admin-staff .add-staff button[type=submit]")
    expect(admin.locator("#admin-staff .notice")).to_contain_text("Added carol")
    carol_row = admin.locator("tr[data-staff='carol']")
    expect(carol_row).to_have_count(1)

    carol = open_page("/login")
    carol.fill("input[name=username]", "carol")
    carol.fill("input[name=password]", "carol-pass-1")
    carol.click("button[type=submit]")
    carol.wait_for_url("**/staff/")
    connected(carol)

    # Log out everywhere: carol's console now acts as nobody and says so at her next action.
    carol_row.locator("button", has_text="Log out everywhere").click()
    expect(admin.locator("#admin-staff .notice")).to_have_text("carol is logged out everywhere.")
    carol.click("#table-grid button[data-table='0']")
    expect(carol.locator("#table-error")).to_contain_text(
        "token does not belong to any staff member")

    admin.locator("tr[data-staff='carol'] input[name=password]").fill("carol-pass-2")
    admin.locator("tr[data-staff='carol'] button", has_text="Set").click()
    expect(admin.locator("#admin-staff .notice")).to_contain_text("New password set for carol")
    admin.locator("tr[data-staff='carol'] button", has_text="Deactivate").click()
    expect(admin.locator("tr[data-staff='carol']")).to_have_class("inactive")
    carol.goto("/login")
    carol.fill("input[name=username]", "carol")
    carol.fill("input[name=password]", "carol-pass-2")
    carol.click("button[type=submit]")
    expect(carol.locator(".flash")).to_contain_text("do not match an active staff account")
    admin.locator("tr[data-staff='boss'] button", has_text="Deactivate").click()
    expect(admin.locator("#admin-staff .error")).to_have_text(
        "You cannot deactivate your own account.")
    screenshot(admin, "admin-1366x768")


def test_tables_and_end_of_day(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "boss")
    set_tables(fresh, 4)
    display = open_page("/display/", viewport=TV)
    connected(display)
    expect(display.locator(".table-card")).to_have_count(4)
    staff = open_page("/login")
    log_in(staff, "boss")
    pick_table(staff, 3)
    for n in range(3):
        kiosk_sign_in(fresh, f"v{n}@example.org", f"Visitor {n}")
    expect(staff.locator("#waiting-list li")).to_have_count(3)
    expect(display.locator("#waiting-count")).to_have_text("3")

    admin = open_page("/admin/", viewport=LAPTOP)  # same account, second login
    admin.fill("input[name=username]", "boss")
    admin.fill("input[name=password]", PASSWORD)
    admin.click("button[type=submit]")
    admin.wait_for_url("**/admin/")
    admin.fill("#admin-tables input[name=count]", "3")
    admin.click("#admin-tables button[type=submit]")
    expect(admin.locator("#admin-tables .error")).to_contain_text("Table 3 is in use")
    admin.fill("#admin-tables input[name=count]", "6")
    admin.click("#admin-tables button[type=submit]")
    expect(admin.locator("#admin-tables .notice")).to_have_text("The venue now has 6 tables.")
    expect(display.locator(".table-card")).to_have_count(6)

    expect(admin.locator("#admin-waiting")).to_have_text("3")
    admin.click("#admin-day button[type=submit]")
    expect(admin.locator("#admin-day .notice")).to_have_text("Closed 3 waiting tickets.")
    expect(admin.locator("#admin-waiting")).to_have_text("0")
    expect(staff.locator("#waiting-list li")).to_have_count(0)
    expect(staff.locator("#waiting-empty")).to_be_visible()
    expect(display.locator("#waiting-count")).to_have_text("0")
