"""The kiosk's and the phone page's "Text me when it's my turn" in Chromium, against a
stand-in Twilio (tests/kit/twilio_server.py): a number is asked for only when the box is
ticked, checked before any ticket is made, and the texts go where the confirmation says
(masked); the phone page asks for texts and stops them. (The texts themselves:
tests/ops/test_texts.py.)"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.kit.browser import KIOSK_PORTRAIT, OpenPage, audit, connected, screenshot
from tests.kit.follow import sign_in_with_link
from tests.kit.live import ROOT, LiveServer, free_port
from tests.kit.texts import code_of, count
from tests.kit.twilio_server import TwilioServer, sms_env

TWILIO_PORT = free_port()
SERVER_ENV = sms_env(TWILIO_PORT)
PHONE = {"width": 360, "height": 640}
SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture
def twilio(fresh: LiveServer) -> Iterator[TwilioServer]:
    provider = TwilioServer(TWILIO_PORT).start()
    provider.app_base = fresh.base
    yield provider
    provider.stop()


def test_the_kiosk_opt_in(twilio: TwilioServer, fresh: LiveServer,
                          open_page: OpenPage) -> None:
    kiosk = open_page("/kiosk/", viewport=KIOSK_PORTRAIT, touch=True)
    connected(kiosk)
    wanted = kiosk.locator("#kiosk-sms-me")
    expect(wanted).not_to_be_checked()
    expect(kiosk.locator("#kiosk-sms-number")).to_be_hidden()  # no number unless asked
    kiosk.fill("#kiosk-email", "ada@example.org")
    kiosk.fill("#kiosk-name", "Ada Lovelace")
    wanted.check()
    expect(kiosk.locator("#kiosk-sms-number")).to_be_focused()
    kiosk.fill("#kiosk-sms-number", "12")
    kiosk.click("#kiosk-submit")
    expect(kiosk.locator("#kiosk-error")).to_have_text("That is not a valid phone number.")
    assert count(fresh, "tickets") == 0  # refused before any ticket was made
    kiosk.fill("#kiosk-sms-number", "07400 121234")
    shutil.copy(screenshot(kiosk, "kiosk-texts"), SHOTS / "kiosk-texts-800x1280.png")
    audit(kiosk, "kiosk-texts")
    kiosk.click("#kiosk-submit")
    status = kiosk.locator("#kiosk-sms-status")
    expect(status).to_have_text("We'll text +44 •••• ••12 34 when it's your turn.")
    [signin] = twilio.wait_for(lambda got: len(got) == 1)
    shown = kiosk.locator("#kiosk-follow-url").inner_text()
    assert signin["To"] == "+447400121234" and shown.split("/v/")[1] in signin["Body"]
    kiosk.click("#kiosk-done")
    expect(wanted).not_to_be_checked()
    expect(kiosk.locator("#kiosk-sms-number")).to_be_hidden()
    expect(kiosk.locator("#kiosk-sms-number")).to_have_value("")
    # The next visitor does not tick it: no number, no text.
    kiosk.fill("#kiosk-email", "bob@example.org")
    kiosk.fill("#kiosk-name", "Bob")
    kiosk.click("#kiosk-submit")
    expect(kiosk.locator("#kiosk-follow")).to_be_visible()
    expect(status).to_be_hidden()
    assert count(fresh, "sms_subscriptions") == 1


def test_the_phone_page_opt_in(twilio: TwilioServer, fresh: LiveServer,
                               open_page: OpenPage) -> None:
    _, link = sign_in_with_link(fresh, "cy@example.org", "Cy")
    phone = open_page(f"/v/{code_of(link)}", viewport=PHONE, touch=True)
    form = phone.locator("#phone-sms-form")
    expect(form).to_be_visible()
    phone.fill("#phone-sms-number", "07400 121234")
    phone.click("#phone-sms-send")
    expect(phone.locator("#phone-sms-error")).to_contain_text("Tick")  # the box first
    phone.check("#phone-sms-me")
    phone.click("#phone-sms-send")
    expect(phone.locator("#phone-sms-on")).to_contain_text("+44 •••• ••12 34")
    expect(form).to_be_hidden()
    twilio.wait_for(lambda got: len(got) == 1)
    shutil.copy(screenshot(phone, "phone-texts"), SHOTS / "phone-texts-360x640.png")
    audit(phone, "phone-texts")
    phone.reload()  # the page remembers, masked
    expect(phone.locator("#phone-sms-to")).to_have_text("+44 •••• ••12 34")
    phone.click("#phone-sms-stop")
    expect(form).to_be_visible()
    assert count(fresh, "sms_subscriptions") == 0
