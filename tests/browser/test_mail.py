"""The kiosk's "Email me" checkbox in Chromium, against a real SMTP server: the mail a
ticked box sends carries the link the kiosk shows, and the box remembers a visitor's
choice and nobody else's (the mail itself: tests/ops/test_mail.py)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.kit.browser import KIOSK_PORTRAIT, OpenPage, connected
from tests.kit.live import LiveServer, free_port
from tests.kit.mail_server import MailServer, mail_env, text_of

SMTP_PORT = free_port()  # the `smtp` fixture (tests/conftest.py) listens there
SERVER_ENV = mail_env(SMTP_PORT)


def test_kiosk_checkbox_remembers_the_choice(mailbox: MailServer, fresh: LiveServer,
                                            open_page: OpenPage) -> None:
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    box = kiosk.locator("#kiosk-email-me")
    expect(box).not_to_be_checked()
    kiosk.fill("#kiosk-email", "hedy@example.org")
    kiosk.fill("#kiosk-name", "Hedy Lamarr")
    box.check()
    kiosk.click("#kiosk-submit")
    expect(kiosk.locator("#kiosk-follow")).to_be_visible()
    shown = kiosk.locator("#kiosk-follow-url").inner_text()
    [signin] = [m for m in mailbox.wait_for(
        lambda got: any(m["To"] == "hedy@example.org" for m in got))
                if m["To"] == "hedy@example.org"]
    assert shown.split("/v/")[1] in text_of(signin)
    kiosk.click("#kiosk-done")
    expect(box).not_to_be_checked()  # the next visitor starts unticked...
    kiosk.locator("#kiosk-email").press_sequentially("hedy@example.org", delay=10)
    expect(box).to_be_checked()  # ...unless they ticked it last time
    kiosk.fill("#kiosk-email", "")
    kiosk.locator("#kiosk-email").press_sequentially("other@example.org", delay=10)
    expect(box).not_to_be_checked()  # a visitor who never chose it: unticked
