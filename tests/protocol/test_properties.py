"""Property-based tests (hypothesis) of the wire format: parsing any frame never fails and
means what the document says; everything we format is one well-formed line."""

from __future__ import annotations

import json
import re
import string
import unicodedata
from datetime import UTC, datetime
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from tablequeue import protocol
from tablequeue.outcomes import Refusal, TicketView
from tablequeue.service.identity import USERNAME
from tablequeue.service.tickets import NAME_MAX, _name_refusal, email_refusal

ALL = protocol.STAFF_COMMANDS | protocol.KIOSK_COMMANDS | protocol.VISITOR_COMMANDS
ROUTES = [protocol.STAFF_COMMANDS, protocol.KIOSK_COMMANDS, protocol.DISPLAY_COMMANDS,
          protocol.VISITOR_COMMANDS]
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
text = st.text(st.characters(codec="utf-8"), max_size=300)
word = st.sampled_from(sorted(ALL) + ["", "PICK", "news", "error", "success", "taken"])
frames = st.one_of(text, st.builds(lambda w, rest: f"{w} {rest}", word, text))
spaceless = st.text(st.characters(codec="utf-8", exclude_categories=("Zs", "Zl", "Zp", "Cc")),
                    min_size=1, max_size=80)
moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31),
                       timezones=st.just(UTC))
usernames = st.from_regex(USERNAME, fullmatch=True)


def tickets(email: st.SearchStrategy[str] = text) -> st.SearchStrategy[TicketView]:
    return st.builds(
        TicketView, id=st.integers(0, protocol.MAX_NUMBER), email=email, name=text,
        staff=st.one_of(st.just(""), usernames), start=moments,
        end=st.one_of(st.none(), moments), status=st.just("waiting"),
    )


@settings(max_examples=500)
@given(frames, st.sampled_from(ROUTES))
def test_parse_never_fails_and_names_a_command(frame: str, allowed: frozenset[str]) -> None:
    command = protocol.parse(frame, allowed)
    assert isinstance(command, get_args(protocol.Command))  # every command type, new ones too
    word_ = protocol.command_word(command)
    if word_ not in allowed:
        assert isinstance(command, protocol.Unknown)
    assert word_ == frame.strip().partition(" ")[0]


@given(frames, st.sampled_from(ROUTES),
       st.text(" \t\r\n", max_size=5), st.text(" \t\r\n", max_size=5))
def test_surrounding_whitespace_is_ignored(frame: str, allowed: frozenset[str],
                                           a: str, b: str) -> None:
    assert protocol.parse(a + frame + b, allowed) == protocol.parse(frame, allowed)


@given(st.sampled_from(["accept", "cancel", "complete"]), st.integers(0, protocol.MAX_NUMBER))
def test_ticket_ids_round_trip(word_: str, ticket_id: int) -> None:
    command = protocol.parse(f"{word_} {ticket_id}", protocol.STAFF_COMMANDS)
    assert command.ticket_id == ticket_id  # type: ignore[union-attr]


@given(st.sampled_from(["accept", "cancel", "complete"]),
       st.one_of(st.integers(max_value=-1), st.integers(min_value=protocol.MAX_NUMBER + 1),
                 text.filter(lambda t: not t.strip().isascii() or not t.strip().isdigit())))
def test_ids_out_of_bounds_or_not_numbers_are_no_ticket(word_: str, raw: object) -> None:
    command = protocol.parse(f"{word_} {raw}", protocol.STAFF_COMMANDS)
    assert command.ticket_id is None  # type: ignore[union-attr]


@given(st.integers(0, protocol.MAX_NUMBER), spaceless)
def test_pick_round_trips_table_and_token(table: int, token: str) -> None:
    assert (protocol.parse(f"pick {table} {token}", protocol.STAFF_COMMANDS)
            == protocol.Pick(table, token))


@given(spaceless, text.map(str.strip))
def test_new_keeps_the_whole_name_after_the_email(email: str, name: str) -> None:
    command = protocol.parse(f"new {email} {name}", protocol.KIOSK_COMMANDS)
    assert command == protocol.New(email, name)


@given(tickets(), st.booleans())
def test_ticket_json_has_six_keys_in_order_and_round_trips(ticket: TicketView,
                                                           redact: bool) -> None:
    encoded = protocol.ticket_json(ticket, redact_email=redact)
    decoded = json.loads(encoded)
    assert list(decoded) == ["id", "email", "name", "staff", "start", "end"]
    assert decoded["id"] == ticket.id and decoded["name"] == ticket.name
    assert decoded["email"] == ("" if redact else ticket.email)
    assert RFC3339.fullmatch(decoded["start"]) and RFC3339.fullmatch(decoded["end"])
    assert ", " not in encoded.replace(json.dumps(ticket.name, ensure_ascii=False), "")
    assert "\n" not in encoded and "\r" not in encoded


@given(tickets(), st.integers(0, 999))
def test_display_claimed_splits_on_spaces_and_hides_the_email(ticket: TicketView,
                                                              table: int) -> None:
    message = protocol.display_claimed(ticket, table, redact_email=True)
    word_, staff, table_, body = message.split(" ", 3)
    assert (word_, staff, table_) == ("claimed", ticket.staff, str(table))
    assert json.loads(body)["email"] == ""


@given(st.sampled_from(sorted(ALL)), st.sampled_from(list(Refusal)))
def test_every_error_is_one_line_naming_its_command(word_: str, refusal: Refusal) -> None:
    message = protocol.error(word_, refusal)
    assert message.startswith(f"error {word_} ") and len(message) > len(f"error {word_} ")
    assert "\n" not in message


@given(st.sets(st.integers(0, 999)))
def test_taken_lists_tables_ascending(tables: set[int]) -> None:
    assert protocol.staff_taken(tables).split(" ") == ["taken", *map(str, sorted(tables))]


@settings(max_examples=500)
@given(text)
def test_an_accepted_name_is_printable_and_bounded(name: str) -> None:
    name = name.strip()
    if _name_refusal(name) is None:
        assert 1 <= len(name) <= NAME_MAX
        categories = {unicodedata.category(c) for c in name}
        assert not categories & {"Cc", "Cs", "Zl", "Zp"}  # no controls, no line breaks
        assert not set(name) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
        assert any(c[0] in "LNPS" for c in categories)  # something visible


@given(st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=20),
       st.text(string.ascii_lowercase, min_size=1, max_size=20))
def test_plain_addresses_are_accepted(local: str, domain: str) -> None:
    assert email_refusal(f"{local}@{domain}.org") is None


@given(text)
def test_an_accepted_email_is_one_bounded_token(email: str) -> None:
    email = email.strip()
    if email_refusal(email) is None:
        assert len(email) <= 254 and email.count("@") == 1
        assert not any(c.isspace() for c in email) and email.isprintable()
