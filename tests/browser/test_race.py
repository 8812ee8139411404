"""Two staff consoles race for one ticket: exactly one wins, the other is told why."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.kit.browser import LAPTOP, HeldSocket, OpenPage, add_staff, log_in, pick_table
from tests.kit.live import LiveServer, kiosk_sign_in


def test_two_consoles_race_for_one_ticket(fresh: LiveServer, open_page: OpenPage) -> None:
    add_staff(fresh, "ada")
    add_staff(fresh, "bob")
    held = HeldSocket()

    def route(page: Page) -> None:
        page.route_web_socket(re.compile(r".*/ws/staff(\?.*)?$"), held.route)

    winner = open_page("/login", viewport=LAPTOP)
    loser = open_page("/login", viewport=LAPTOP, before=route)
    log_in(winner, "ada")
    log_in(loser, "bob")
    pick_table(winner, 1)
    pick_table(loser, 2)
    ticket = kiosk_sign_in(fresh, "kay@example.org", "Kay Sievers")
    for page in (winner, loser):
        expect(page.locator(f"#waiting-list li[data-ticket='{ticket['id']}']")).to_have_count(1)

    held.holding = True
    winner.click(f"#waiting-list li[data-ticket='{ticket['id']}'] button.accept")
    expect(winner.locator("#serving-name")).to_have_text("Kay Sievers")
    loser.click(f"#waiting-list li[data-ticket='{ticket['id']}'] button.accept")
    # The server answered the loser while its page still showed the ticket as waiting.
    for _ in range(200):
        if any(str(m).startswith("error accept") for m in held.held):
            break
        loser.wait_for_timeout(50)
    assert any(str(m).startswith(f"claimed {{\"id\":{ticket['id']},") for m in held.held)
    assert "error accept this ticket is now claimed" in held.held
    held.release()

    expect(loser.locator("#waiting-error")).to_have_text(
        f"Ticket {ticket['id']}: this ticket is now claimed."
    )
    expect(loser.locator("#serving-empty")).to_be_visible()
    expect(loser.locator(f"#waiting-list li[data-ticket='{ticket['id']}']")).to_have_count(0)
    expect(winner.locator("#serving-id")).to_have_text(str(ticket["id"]))
