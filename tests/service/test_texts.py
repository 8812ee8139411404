"""The texts' words (service/texts.py, service/gsm.py): each fits one GSM-7 part of 160
characters with the site's name and "Reply STOP to opt out", for the longest ticket
number, table, place and follow link the deployment allows, whatever the site is called;
and numbers typed as people type them (service/phones.py)."""

from __future__ import annotations

import pytest

from tablequeue.service import gsm, phones, texts

# PUBLIC_URL may be 50 characters with SMS_URL set (config._sms): the longest link.
LINK = "https://" + "q" * 42 + "/v/" + "A-b_" * 5 + "xy"
TICKET, TABLE, AHEAD = 2_147_483_647, 999, 100
NAMES = ["Help Desk", "Łódź Studentenwerk – Beratung “Nord”", "Zürich Ausländeramt",
         "東京オフィス", "x" * 100, "Career & Advising Center, Room 204 (ground floor) " * 2,
         "Braces {x} [y] ~ | € ^ \\"]


def _all(name: str) -> list[str]:
    return [texts.signin_text(name, TICKET, AHEAD, LINK),
            texts.almost_text(name, TICKET, AHEAD), texts.called_text(name, TICKET, TABLE)]


@pytest.mark.parametrize("name", NAMES)
def test_every_text_is_one_gsm_part_with_the_stop_line(name: str) -> None:
    for text in _all(name):
        septets = gsm.septets(text)
        assert septets is not None and septets <= gsm.LIMIT, (septets, text)
        assert text.endswith(" Reply STOP to opt out")
        assert str(TICKET) in text


def test_the_words_and_their_lengths() -> None:
    link = "https://queue.example.org/v/" + "A" * 22
    words = [texts.signin_text("Help Desk", 42, 3, link), texts.almost_text("Help Desk", 42, 2),
             texts.called_text("Help Desk", 42, 6), texts.signin_text("Help Desk", 43, 0, link)]
    assert words == [
        f"Help Desk: ticket 42, 3 ahead of you. Follow your place: {link} Reply STOP to opt out",
        "Help Desk: you're almost up, ticket 42, 2 ahead of you. Please stay close. "
        "Reply STOP to opt out",
        "Help Desk: ticket 42, please go to table 6 now. Reply STOP to opt out",
        f"Help Desk: ticket 43, you're next. Follow your place: {link} Reply STOP to opt out",
    ]
    assert [len(w) for w in words] == [129, 96, 69, 126]


def test_a_long_name_is_cut_and_a_foreign_one_folded() -> None:
    assert len(texts.called_text("x" * 100, 7, 1)) == 159  # fits whole
    cut = texts.called_text("x" * 100, 12345, 1)
    assert len(cut) == 160 and cut.startswith("x" * 97 + ": ticket 12345")
    assert texts.called_text("Łódź – “Nord”", 7, 1).startswith('Lodz - "Nord": ticket 7')
    assert texts.called_text("東京", 7, 1) == ("ticket 7, please go to table 1 now. "
                                             "Reply STOP to opt out")
    assert gsm.septets("€") == 2 and gsm.septets("é") == 1 and gsm.septets("ł") is None


@pytest.mark.parametrize(("typed", "region", "e164"), [
    ("07400 121234", "GB", "+447400121234"), ("+44 7400 121234", None, "+447400121234"),
    ("0044 7400-121234", None, "+447400121234"), ("(202) 555-0123", "US", "+12025550123"),
    ("+1 202 555 0123", "GB", "+12025550123"),
])
def test_numbers_are_read_into_e164(typed: str, region: str | None, e164: str) -> None:
    assert phones.normalise(typed, region) == e164


@pytest.mark.parametrize(("typed", "region", "why"), [
    ("", "GB", "please type your mobile number"), ("12", "GB", "not a valid phone number"),
    ("020 7946 0018", "GB", "not a mobile number"), ("07400 121234", None, "country code"),
    ("+44 7400 121234\u202e", "GB", "does not look like"), ("1" * 40, "GB", "does not look"),
])
def test_numbers_that_cannot_be_texted(typed: str, region: str | None, why: str) -> None:
    with pytest.raises(phones.PhoneError, match=why):
        phones.normalise(typed, region)


def test_numbers_are_masked_but_for_the_last_four_digits() -> None:
    assert phones.mask("+447400121234") == "+44 •••• ••12 34"
    assert phones.mask("+12025550123") == "+1 •••• ••01 23"
    assert phones.mask("+4915112345678") == "+49 •••• •••5 678"
