"""Text messages against a stand-in Twilio speaking its contract (tests/kit/twilio_server.py)
through the official library: the three texts word for word, delivery statuses recorded
from signed callbacks, forged callbacks refused, STOP honoured for good, a provider that is
down, refuses, rate-limits or times out delays nothing and loses nothing, a text whose
answer never came is looked up before it is sent again, numbers masked at /admin, gone
with the visitor and never in the log. (Workers killed mid-send: test_texts_crash.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.kit.client import Desk, new_ticket
from tests.kit.follow import sign_in_with_link
from tests.kit.live import LiveServer, free_port
from tests.kit.new_site import add_site
from tests.kit.texts import ask_for_texts, code_of, count, rows
from tests.kit.twilio_server import FROM, PUBLIC_URL, TwilioServer, sms_env

TWILIO_PORT = free_port()
# Retries after 1, 2 and 4 s, then failed; a claim lasts 6 s (Twilio's timeout: 2 s).
SERVER_ENV = {**sms_env(TWILIO_PORT), "OUTBOX_RETRY_MAX_SECONDS": "4",
              "OUTBOX_LEASE_SECONDS": "6", "RATE_LIMITS": "off"}
NUMBER, TYPED, MASKED = "+447400121234", "07400 121234", "+44 •••• ••12 34"


@pytest.fixture(scope="module")
def twilio_stub() -> Iterator[TwilioServer]:
    twilio = TwilioServer(TWILIO_PORT).start()
    yield twilio
    twilio.stop()


@pytest.fixture
def twilio(twilio_stub: TwilioServer, fresh: LiveServer) -> Iterator[TwilioServer]:
    """The stand-in up, empty, calling back to this module's server."""
    if not twilio_stub.up:
        twilio_stub.start()
    twilio_stub.reset()
    twilio_stub.app_base = fresh.base
    yield twilio_stub
    twilio_stub.released.set()
    if not twilio_stub.up:
        twilio_stub.start()


def _texted(server: LiveServer, email: str, number: str = TYPED) -> tuple[int, str]:
    """A visitor signs in, gets the link and asks for texts on it: (ticket, code)."""
    ticket, link = sign_in_with_link(server, email, email.split("@")[0].title())
    reply = ask_for_texts(server, code_of(link), number)
    assert reply.status == 200, reply.body
    return ticket, code_of(link)


def _bodies(twilio: TwilioServer) -> list[str]:
    return [m["Body"] for m in twilio.received()]


def test_the_three_texts(twilio: TwilioServer, fresh: LiveServer,
                         desk: Callable[..., Desk]) -> None:
    ada = desk("ada", 6)
    before = [sign_in_with_link(fresh, f"a{i}@example.org", f"A {i}")[0] for i in range(3)]
    ticket, code = _texted(fresh, "grace@example.org")
    [signin] = twilio.wait_for(lambda got: len(got) == 1)
    assert (signin["To"], signin["From"]) == (NUMBER, FROM)
    assert signin["Body"] == (f"Help Desk: ticket {ticket}, 3 ahead of you. Follow your "
                              f"place: {PUBLIC_URL}/v/{code} Reply STOP to opt out")
    [row] = rows(fresh, "SELECT id FROM outbox WHERE kind = 'signin'")
    assert signin["StatusCallback"] == f"{PUBLIC_URL}/sms/status?o={row.id}"

    assert ada.answer(f"accept {before[0]}").startswith("success")  # 2 ahead now
    twilio.wait_for(lambda got: len(got) == 2)
    assert _bodies(twilio)[1] == (f"Help Desk: you're almost up, ticket {ticket}, 2 ahead "
                                  "of you. Please stay close. Reply STOP to opt out")
    for done, following in zip(before, [*before[1:], ticket], strict=True):
        assert ada.answer(f"complete {done}").startswith("success")
        assert ada.answer(f"accept {following}").startswith("success")
    twilio.wait_for(lambda got: len(got) == 3)
    assert _bodies(twilio)[2] == (f"Help Desk: ticket {ticket}, please go to table 6 now. "
                                  "Reply STOP to opt out")
    assert all(len(body) <= 160 and "grace" not in body.lower() for body in _bodies(twilio))
    # Twilio's signed callbacks are recorded on each row; a sent text keeps no number.
    deadline = time.monotonic() + 15
    while count(fresh, "outbox", "provider_status = 'delivered'") < 3:
        assert time.monotonic() < deadline, rows(fresh, "SELECT * FROM outbox")
        time.sleep(0.1)
    assert all(answer == 204 for _, answer in twilio.callbacks)
    assert count(fresh, "outbox", "state = 'sent' AND recipient IS NULL") == 3
    time.sleep(1.5)  # a sender round or two: nothing else is on its way
    assert len(twilio.received()) == 3


def test_twilio_requests_must_be_signed(twilio: TwilioServer, fresh: LiveServer) -> None:
    _texted(fresh, "signed@example.org")
    twilio.wait_for(lambda got: len(got) == 1)
    [row] = rows(fresh, "SELECT id FROM outbox")
    status = {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "30003"}
    path = f"/sms/status?o={row.id}"
    assert twilio.post_signed(path, status, token="not-the-token") == 403
    assert twilio.post_signed("/sms/inbound", {"From": NUMBER, "Body": "STOP"},
                              token="not-the-token") == 403
    assert twilio.post_signed("/sms/inbound", {"From": NUMBER, "Body": "STOP"},
                              public_url="https://elsewhere.example.org") == 403
    assert fresh.http("POST", "/sms/inbound", {"From": NUMBER, "Body": "STOP"})[0] == 403
    assert count(fresh, "sms_opt_outs") == 0
    assert count(fresh, "outbox", "last_error LIKE '%30003%'") == 0


def test_stop_opts_a_number_out_for_good(twilio: TwilioServer, fresh: LiveServer,
                                         desk: Callable[..., Desk]) -> None:
    bob = desk("bob", 2)
    ticket, _ = _texted(fresh, "stop@example.org")
    twilio.wait_for(lambda got: len(got) == 1)
    assert twilio.inbound(NUMBER, " stop ") == 200
    assert count(fresh, "sms_opt_outs", "number = :n", n=NUMBER) == 1
    assert count(fresh, "sms_subscriptions") == 0
    assert bob.answer(f"accept {ticket}").startswith("success")
    # Asked again, on a new ticket: taken (the kiosk may not tell anyone it said STOP),
    # never texted.
    again, _ = _texted(fresh, "again@example.org")
    assert twilio.inbound(NUMBER, "STOP") == 200  # twice is once
    assert bob.answer(f"complete {ticket}").startswith("success")
    assert bob.answer(f"accept {again}").startswith("success")
    time.sleep(2)
    assert len(twilio.received()) == 1
    assert count(fresh, "outbox", "state = 'pending'") == 0


def test_a_dead_provider_delays_nothing_and_loses_nothing(twilio: TwilioServer,
                                                          fresh: LiveServer,
                                                          desk: Callable[..., Desk]) -> None:
    cy = desk("cy", 3)
    twilio.stop()
    ticket, _ = _texted(fresh, "dead@example.org")
    assert cy.answer(f"accept {ticket}") == f"success claimed {ticket}"
    # Answered with both texts still unsent: nothing waited for the provider.
    assert count(fresh, "outbox", "state = 'pending'") == 2
    time.sleep(2.5)  # two attempts failed meanwhile: connection refused
    tried = "attempts >= 1 AND last_error LIKE 'ConnectionError%' AND state = 'pending'"
    assert count(fresh, "outbox", tried) == 2
    twilio.start()
    got = twilio.wait_for(lambda got: len(got) == 2, timeout=15)
    assert sorted(m["Body"].split(", ")[1][:12] for m in got) == ["please go to", "you're next."]
    time.sleep(1.5)
    assert len(twilio.received()) == 2


@pytest.mark.parametrize("mode", ["refuse", "rate_limit", "timeout"])
def test_refusals_rate_limits_and_timeouts_are_tried_again(
        twilio: TwilioServer, fresh: LiveServer, mode: str) -> None:
    twilio.mode, twilio.hold_seconds = mode, 3.0
    _texted(fresh, f"{mode.replace('_', '')}@example.org")
    deadline = time.monotonic() + 10
    while count(fresh, "outbox", "attempts >= 1 AND last_error IS NOT NULL") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    twilio.mode = "ok"
    twilio.wait_for(lambda got: len(got) == 1, timeout=15)
    time.sleep(2.5)
    assert len(twilio.received()) == 1
    [(state, error)] = rows(fresh, "SELECT state, last_error FROM outbox")
    assert state == "sent"
    assert {"refuse": "HTTP 503, Twilio error 20503", "rate_limit": "HTTP 429, Twilio error "
            "20429", "timeout": "Timeout"}[mode] in error


def test_an_answer_that_never_came_is_looked_up_not_sent_twice(twilio: TwilioServer,
                                                               fresh: LiveServer) -> None:
    """Twilio took the text but its answer came after the client gave up (2 s): the next
    attempt finds it in Twilio's list of messages and records it as sent."""
    twilio.mode, twilio.hold_seconds = "hold", 4.0
    _texted(fresh, "doubt@example.org")
    twilio.wait_for(lambda got: len(got) == 1)
    deadline = time.monotonic() + 20
    while count(fresh, "outbox", "state = 'sent'") < 1:
        assert time.monotonic() < deadline, rows(fresh, "SELECT * FROM outbox")
        time.sleep(0.1)
    assert ("GET" in {method for method, _ in twilio.requests})  # the look-up
    [(sid,)] = rows(fresh, "SELECT message_id FROM outbox")
    assert [m["sid"] for m in twilio.received()] == [sid]
    time.sleep(1.5)
    assert len(twilio.received()) == 1


def test_given_up_texts_are_failed_and_shown_masked(twilio: TwilioServer, fresh: LiveServer,
                                                    desk: Callable[..., Desk]) -> None:
    twilio.stop()
    _texted(fresh, "never@example.org")
    deadline = time.monotonic() + 20  # waits of 1, 2 and 4 s, then failed
    while count(fresh, "outbox", "state = 'failed'") < 1:
        assert time.monotonic() < deadline, rows(fresh, "SELECT * FROM outbox")
        time.sleep(0.2)
    fresh.flask("staff", "add", "root", "--password", "password123", "--admin")
    cookie = fresh.login("root")
    assert cookie is not None
    status, _, page = fresh.http("GET", "/admin/", cookie=cookie)
    assert status == 200 and MASKED in page and "failed" in page
    assert "7400121234" not in page and "121234" not in page.replace(" ", "")
    assert "7400121234" not in fresh.log() and "121234" not in fresh.log()


def test_numbers_go_with_the_visitor(twilio: TwilioServer, fresh: LiveServer,
                                     desk: Callable[..., Desk]) -> None:
    dee = desk("dee", 4)
    ticket, _ = _texted(fresh, "gone@example.org")
    twilio.wait_for(lambda got: len(got) == 1)
    assert dee.answer(f"accept {ticket}").startswith("success")
    assert dee.answer(f"complete {ticket}").startswith("success")
    assert count(fresh, "sms_subscriptions") == 1 and count(fresh, "outbox") >= 1
    fresh.flask("visitors", "delete", "gone@example.org")
    assert count(fresh, "sms_subscriptions") == 0 and count(fresh, "outbox") == 0


def test_numbers_are_checked_and_masked(twilio: TwilioServer, fresh: LiveServer) -> None:
    ticket, link = sign_in_with_link(fresh, "typo@example.org", "Typo")
    assert ask_for_texts(fresh, code_of(link), "12").body == "that is not a valid phone number"
    assert ask_for_texts(fresh, code_of(link), "020 7946 0018").body == \
        "that is not a mobile number"
    assert ask_for_texts(fresh, "A" * 22, TYPED).status == 404
    assert ask_for_texts(fresh, code_of(link), "+447400121234").body == MASKED
    assert ask_for_texts(fresh, code_of(link), "", stop="1").status == 204
    assert count(fresh, "sms_subscriptions") == 0
    assert "Text me when it's my turn" in fresh.http("GET", "/kiosk/")[2]
    assert count(fresh, "tickets", "id = :t", t=ticket) == 1


def test_a_site_texts_from_its_own_number_with_its_own_name(twilio: TwilioServer,
                                                            fresh: LiveServer) -> None:
    slug, _ = add_site(fresh, "career")
    long_name = "Łódź Career & Advising Center – Room 204, ground floor, next to the library"
    fresh.flask("site", "set", slug, "--name", long_name)
    assert fresh.flask("sms", "sender", "--site", slug, "+12025550111") == \
        f"{slug}: texts come from +12025550111\n"
    assert fresh.flask_run("sms", "sender", "--site", slug, "2025550111").returncode != 0
    kiosk = fresh.connect(f"/s/{slug}/ws/kiosk")
    try:
        ticket, _ = new_ticket(kiosk, "lou@example.org", "Lou")
        link = kiosk.ask(f"link {ticket['id']}").split(" ")[3]
    finally:
        kiosk.close()
    assert ask_for_texts(fresh, code_of(link), TYPED).body == MASKED
    [text] = twilio.wait_for(lambda got: len(got) == 1)
    assert text["From"] == "+12025550111"
    assert text["Body"].startswith("Lodz Career & Advising Center") and len(text["Body"]) <= 160
    assert text["Body"].endswith(f"/v/{code_of(link)} Reply STOP to opt out")
    assert fresh.flask("sms", "sender", "--site", slug, "--clear") == \
        f"{slug}: texts come from {FROM}\n"
