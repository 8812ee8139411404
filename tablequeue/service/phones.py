"""Mobile numbers as people type them, read into E.164 (+447700900123) the way
libphonenumber reads them (SMS_REGION for a number typed without its country code), and
shown to staff masked: +44 •••• ••01 23. A number is never logged, nor shown whole."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

TYPED_MAX = 32  # characters of a typed number: spaces, dashes and brackets included
_TEXTABLE = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


class PhoneError(ValueError):
    """Why a typed number cannot be texted; the message is for the visitor."""


def normalise(typed: str, region: str | None) -> str:
    """The number in E.164, or PhoneError saying what is wrong with it."""
    typed = typed.strip()
    if not typed:
        raise PhoneError("please type your mobile number")
    if len(typed) > TYPED_MAX or not typed.isprintable():
        raise PhoneError("that does not look like a phone number")
    if region is None and not typed.startswith(("+", "00")):
        raise PhoneError("please type your number with its country code, like +44")
    if typed.startswith("00"):
        typed = "+" + typed[2:]
    try:
        number = phonenumbers.parse(typed, region)
    except NumberParseException:
        raise PhoneError("that does not look like a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("that is not a valid phone number")
    if phonenumbers.number_type(number) not in _TEXTABLE:
        raise PhoneError("that is not a mobile number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(e164: str) -> str:
    """+44 •••• ••01 23: the country code, then the national number with all but its
    last four digits hidden, in groups of four."""
    try:
        number = phonenumbers.parse(e164, None)
        country, national = number.country_code, phonenumbers.national_significant_number(
            number)
    except NumberParseException:
        country, national = None, e164.lstrip("+")
    hidden = "•" * max(0, len(national) - 4) + national[-4:]
    groups = " ".join(hidden[i:i + 4] for i in range(0, len(hidden), 4))
    return f"+{country} {groups}" if country else groups
