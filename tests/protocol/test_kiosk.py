"""/ws/kiosk: `new EMAIL NAME` and `query EMAIL`, the ticket JSON's exact shape, and
the rule that kiosks receive no broadcasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.kit.client import EPOCH, new_ticket, ticket

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# ---- new ---------------------------------------------------------------------------------


def test_new_answers_with_the_ticket_in_its_exact_shape(kiosk):
    before = datetime.now(UTC).replace(microsecond=0)
    reply = kiosk.ask("new ada@example.org Ada Lovelace")
    after = datetime.now(UTC)
    assert reply.startswith("success new {")
    raw = reply.removeprefix("success new ")
    value = ticket(raw)  # six keys in order, compact separators, RFC 3339 `Z` times
    assert value["email"] == "ada@example.org"
    assert value["name"] == "Ada Lovelace"
    assert value["staff"] == ""  # not the document's "{}"
    assert value["end"] == EPOCH
    # `start` is when the kiosk created it (whole seconds, so compare with a second's slack).
    assert before - timedelta(seconds=1) <= parse_time(value["start"]) <= after
    assert raw.startswith('{"id":') and '"email":"ada@example.org","name":"Ada Lovelace"' in raw


def test_new_keeps_the_email_as_typed_and_the_name_with_its_inner_spaces(kiosk):
    value, _ = new_ticket(kiosk, "Grace.Hopper@Example.ORG", "Grace  Brewster   Hopper")
    assert value["email"] == "Grace.Hopper@Example.ORG"
    assert value["name"] == "Grace  Brewster   Hopper"


def test_new_ignores_surrounding_whitespace_of_the_frame(kiosk):
    value, _ = new_ticket(kiosk, "ada@example.org", "Ada\n")
    assert value["name"] == "Ada"
    assert kiosk.ask("  new bob@example.org Bob  \r\n").startswith("success new ")


def test_ticket_ids_increase(kiosk):
    ids = [new_ticket(kiosk, f"v{i}@example.org", "Same Name")[0]["id"] for i in range(4)]
    assert ids == sorted(ids) and len(set(ids)) == 4


def test_each_visit_gets_its_own_ticket(kiosk):
    first, _ = new_ticket(kiosk, "ada@example.org", "Ada")
    second, _ = new_ticket(kiosk, "ada@example.org", "Ada")
    assert second["id"] != first["id"]


@pytest.mark.parametrize(
    "frame,reason",
    [
        ("new", "email is missing"),
        ("new ada@example.org", "name is missing"),
        ("new ada@example.org ", "name is missing"),
        ("new not-an-email Ada", "email is not a valid address"),
        ("new ada@example Ada", "email is not a valid address"),
        ("new @example.org Ada", "email is not a valid address"),
        ("new ada@@example.org Ada", "email is not a valid address"),
        ("new ada@example.org " + "x" * 101, "name is longer than 100 characters"),
        ("new ada@example.org Ada\tLovelace", "name contains characters that cannot be printed"),
        ("new ada@example.org Ada\x00", "name contains characters that cannot be printed"),
        ("new ada@example.org Ada\u202eecalevol",
         "name contains characters that cannot be printed"),
    ],
)
def test_new_with_invalid_input_is_refused_and_the_kiosk_keeps_working(kiosk, frame, reason):
    assert kiosk.ask(frame) == f"error new {reason}"
    assert kiosk.ask("new ok@example.org Still Works").startswith("success new ")


def test_a_hundred_character_name_is_accepted(kiosk):
    value, _ = new_ticket(kiosk, "long@example.org", "y" * 100)
    assert value["name"] == "y" * 100


def test_new_reaches_bound_staff_with_the_same_json_and_nobody_else(fresh, connect, desk, kiosk):
    ada = desk("ada", 3)
    tableless = desk("bob", 4)
    assert tableless.answer("unpick") == "success unpick"
    tableless.sync()
    idle, display, other = desk("idle"), connect("/ws/display"), connect("/ws/kiosk")
    assert display.recv() == "pick 3"
    _, raw = new_ticket(kiosk, "vera@example.org", "Vera Rubin")
    kiosk.sync()
    assert ada.sync() == [f"new {raw}"]  # staff see the email
    assert tableless.sync() == [f"new {raw}"]  # bound, even without a table
    assert idle.sync() == []  # unbound staff get no visitor data
    assert display.sync() == []
    assert other.sync() == [] and kiosk.sync() == []


# ---- query -------------------------------------------------------------------------------


def test_query_of_an_unknown_email(kiosk):
    assert kiosk.ask("query nobody@example.org") == "error query visitor email does not exist"


def test_query_answers_the_name_given(kiosk):
    new_ticket(kiosk, "ada@example.org", "Ada King, Countess of Lovelace")
    assert kiosk.ask("query ada@example.org") == "success query Ada King, Countess of Lovelace"


def test_query_compares_emails_case_insensitively(kiosk):
    new_ticket(kiosk, "Ada@Example.org", "Ada")
    assert kiosk.ask("query ada@example.org") == "success query Ada"
    assert kiosk.ask("query ADA@EXAMPLE.ORG") == "success query Ada"


def test_query_answers_the_latest_name_whatever_the_case_it_was_given_in(kiosk):
    new_ticket(kiosk, "ada@example.org", "Ada Byron")
    new_ticket(kiosk, "ADA@example.org", "Ada Lovelace")
    assert kiosk.ask("query Ada@Example.Org") == "success query Ada Lovelace"
    new_ticket(kiosk, "ada@EXAMPLE.org", "Ada King")
    assert kiosk.ask("query ada@example.org") == "success query Ada King"


def test_query_is_shared_by_every_kiosk(fresh, connect, kiosk):
    new_ticket(kiosk, "ada@example.org", "Ada")
    assert connect("/ws/kiosk").ask("query ada@example.org") == "success query Ada"


def test_query_does_not_create_a_visitor_or_a_ticket(fresh, desk, kiosk):
    ada = desk("ada", 3)
    assert kiosk.ask("query ghost@example.org") == "error query visitor email does not exist"
    kiosk.sync()
    assert ada.sync() == []
    assert kiosk.ask("query ghost@example.org") == "error query visitor email does not exist"


@pytest.mark.parametrize(
    "frame,reason",
    [
        ("query", "email is missing"),
        ("query not-an-email", "email is not a valid address"),
        ("query ada@example.org extra", "email is not a valid address"),
    ],
)
def test_query_with_invalid_input(kiosk, frame, reason):
    assert kiosk.ask(frame) == f"error query {reason}"
    assert kiosk.ask("query nobody@example.org") == "error query visitor email does not exist"


@pytest.mark.parametrize("frame", ["pick 1 token", "unpick", "accept 1", "cancel 1", "complete 1"])
def test_staff_commands_are_unknown_on_the_kiosk(kiosk, frame):
    word = frame.split()[0]
    assert kiosk.ask(frame) == f"error {word} unknown command"


def test_kiosks_receive_no_broadcasts(fresh, connect, desk, kiosk):
    watcher = connect("/ws/kiosk")
    ada = desk("ada", 3)
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    assert ada.answer(f"complete {t['id']}") == f"success complete {t['id']}"
    assert ada.answer(f"pick 4 {ada.token}") == "success pick 4"
    assert ada.answer("unpick") == "success unpick"
    ada.sync()
    assert watcher.sync() == [] and kiosk.sync() == []
