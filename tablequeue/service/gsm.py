"""The GSM 03.38 alphabet of one-part text messages: 160 of its characters fit one SMS
(a character of its extension table takes two); a single character outside it turns the
whole message into UCS-2, 70 to a part. Site names are folded into it, and cut to fit."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

LIMIT = 160  # septets in one single-part message
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = frozenset("^{}\\[~]|€\f")  # an escape septet plus one
# What a name may hold that GSM spells otherwise: typographic quotes, dashes, ellipsis,
# and letters that no accent-stripping turns into a GSM one.
_SPELLED = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
            "\u2014": "-", "\u2026": "...", "\u00a0": " ", "Ł": "L", "ł": "l", "Đ": "D",
            "đ": "d", "Œ": "OE", "œ": "oe", "Þ": "Th", "þ": "th", "ı": "i", "Ħ": "H", "ħ": "h"}


def septets(text: str) -> int | None:
    """The message's length in septets; None if it cannot be sent in GSM-7 at all."""
    total = 0
    for char in text:
        if char in BASIC:
            total += 1
        elif char in EXTENSION:
            total += 2
        else:
            return None
    return total


def fold(text: str) -> str:
    """`text` in GSM-7: accents dropped where GSM lacks the letter (ł, ő: l, o), anything
    else it cannot spell left out, runs of spaces made one."""
    out: list[str] = []
    for char in text:
        char = _SPELLED.get(char, char)
        if all(c in BASIC or c in EXTENSION for c in char):
            out.append(char)
            continue
        base = unicodedata.normalize("NFKD", char)
        out.append("".join(c for c in base if c in BASIC or c in EXTENSION))
    return " ".join("".join(out).replace("\n", " ").replace("\r", " ").split())


def fit(name: str, build: Callable[[str], str]) -> str:
    """`build(name)` with the name folded, and cut until the message fits one part. The
    rest of the message is never cut; at the least the name is left out."""
    name = fold(name)
    while name:
        message = build(name)
        length = septets(message)
        if length is not None and length <= LIMIT:
            return message
        over = (length if length is not None else len(message)) - LIMIT
        name = name[: max(0, len(name) - over)].rstrip(" ,.-:;")
    return build("")
