"""Bad input on every route: each frame gets a clear `error <command> <reason>`, the
connection answers the next valid command, the server keeps serving, and names (SQL,
HTML, any script) round-trip byte for byte. Only an oversized frame closes (1009)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.kit.client import Client, new_ticket, ticket
from tests.kit.live import LiveServer

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}

ROUTES = ["/ws/staff", "/ws/kiosk", "/ws/display"]
MAX_MESSAGE_SIZE = 16 * 1024  # the default of MAX_MESSAGE_SIZE
BINARY = "error binary frames are not part of the protocol, send text"
HUGE = "9" * 25
NOT_PRINTABLE = "error new name contains characters that cannot be printed"


@pytest.fixture(autouse=True)
def server_keeps_serving(server: LiveServer) -> Iterator[None]:
    """After every test here, a brand-new connection still gets a normal answer."""
    yield
    kiosk = server.connect("/ws/kiosk")
    try:
        assert kiosk.ask("query nobody@example.org") == "error query visitor email does not exist"
    finally:
        kiosk.close()


@pytest.fixture
def route(fresh: LiveServer, connect):
    """route(path): a connection whose greeting (staff: `taken`) has been read."""

    def open_(path: str) -> Client:
        client = connect(path)
        if path == "/ws/staff":
            assert client.recv() == "taken"
        return client

    return open_


def still_answers(client: Client, path: str) -> None:
    """The same connection answers a valid command of its route with its documented reply."""
    assert client.sync() == []
    if path == "/ws/staff":
        assert client.answer("unpick") == "error unpick you do not have a table assigned"
    elif path == "/ws/kiosk":
        assert client.ask("query nobody@example.org") == "error query visitor email does not exist"
    else:
        assert client.ask("hello") == "error hello unknown command"


# ---- frames every route must survive -------------------------------------------------------


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize(
    "frame,reply",
    [
        ("garbage", "error garbage unknown command"),
        ("GET / HTTP/1.1", "error GET unknown command"),
        ("ACCEPT 1", "error ACCEPT unknown command"),
        ("", "error unknown command"),
        (" ", "error unknown command"),
        ("\n", "error unknown command"),
        ("\t \r\n ", "error unknown command"),
        ("é 1", "error é unknown command"),
        ("🙂", "error 🙂 unknown command"),
        ('{"id":1}', 'error {"id":1} unknown command'),
        ("' OR 1=1 --", "error ' unknown command"),
        ("<script>alert(1)</script>", "error <script>alert(1)</script> unknown command"),
    ],
)
def test_unknown_and_empty_frames(route, path, frame, reply):
    client = route(path)
    assert client.ask(frame) == reply
    still_answers(client, path)


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("frame", ["\x00", "\x1b[2J", "\x07bell", "a\x00b", "x\x7f"])
def test_control_characters_in_the_command_word(route, path, frame):
    client = route(path)
    reply = client.ask(frame)
    assert reply.startswith("error ") and reply.endswith(" unknown command"), repr(reply)
    still_answers(client, path)


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("data", [b"", b"\x00\xff\xfe", b"accept 1", b"new a@b.org Ada"])
def test_binary_frames_are_answered_not_closed(route, path, data):
    client = route(path)
    client.send_binary(data)
    assert client.recv() == BINARY
    still_answers(client, path)


@pytest.mark.parametrize("path", ROUTES)
def test_a_4_kib_frame_passes(route, path):
    client = route(path)
    word = "x" * 4096
    assert client.ask(word) == f"error {word} unknown command"
    still_answers(client, path)


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("binary", [False, True])
def test_an_oversized_frame_closes_with_1009_and_the_route_keeps_serving(
        route, connect, path, binary):
    client = route(path)
    frame = "x" * (MAX_MESSAGE_SIZE + 1)
    if binary:
        client.send_binary(frame.encode())
    else:
        client.send(frame)
    assert client.close_code() == 1009
    still_answers(route(path), path)


@pytest.mark.parametrize("path", ROUTES)
def test_a_frame_just_under_the_limit_passes(route, path):
    client = route(path)
    word = "y" * (MAX_MESSAGE_SIZE - 10)
    assert client.ask(word) == f"error {word} unknown command"
    still_answers(client, path)


# ---- staff: numbers, missing and extra arguments -----------------------------------------


@pytest.fixture
def seated(fresh, desk, connect):
    """ada at table 3 with a waiting ticket (its id in `seated.ticket_id`)."""
    ada = desk("ada", 3)
    kiosk = connect("/ws/kiosk")
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    ada.until(lambda m: m.startswith("new "))
    ada.ticket_id = t["id"]
    return ada


@pytest.mark.parametrize("word", ["accept", "cancel", "complete"])
@pytest.mark.parametrize("arg", [HUGE, "-1", "-0", "", "1 2", "1.5", "١", "0b1", "NaN",
                                 "1; DROP TABLE tickets", "'1'"])
def test_ticket_commands_with_bad_ids(seated, word, arg):
    frame = f"{word} {arg}" if arg.strip() else word
    assert seated.answer(frame) == f"error {word} ticket id does not exist"
    assert seated.answer(f"accept {seated.ticket_id}") == f"success claimed {seated.ticket_id}"


@pytest.mark.parametrize("table", [HUGE, "-1", "-0x1", "", "1.0", "3 3", "🙂", "٣"])
def test_pick_with_bad_tables(seated, table):
    # "3 3": the token is everything after the table, so it is not the token any more.
    reply = seated.answer(f"pick {table} {seated.token}")
    assert reply in ("error pick the chosen table is not available",
                     "error pick the provided token does not belong to any staff member")
    if table != "3 3":
        assert reply == "error pick the chosen table is not available"
    assert seated.answer(f"pick 4 {seated.token}") == "success pick 4"


@pytest.mark.parametrize("frame", ["pick 3 not-the-token", "pick 3 a b c", "pick 3  ", "pick",
                                   f"pick 3 {'t' * 4000}", "pick 3 ' OR '1'='1"])
def test_pick_with_bad_tokens(route, fresh, frame):
    staff = route("/ws/staff")
    assert (staff.answer(frame)
            == "error pick the provided token does not belong to any staff member")
    token = fresh.add_staff("ada")
    assert staff.answer(f"pick 3 {token}") == "success pick 3"


def test_pick_with_the_token_followed_by_extra_words_is_refused(fresh, route):
    token = fresh.add_staff("ada")
    staff = route("/ws/staff")
    assert staff.answer(f"pick 3 {token} extra") == (
        "error pick the provided token does not belong to any staff member")
    assert staff.answer(f"pick 3 {token}") == "success pick 3"


def test_unpick_with_extra_words_still_unpicks(seated):
    assert seated.answer("unpick now please") == "success unpick"


@pytest.mark.parametrize("frame", ["new a@b.org Ada", "query a@b.org", "claimed 1", "taken"])
def test_other_routes_commands_are_unknown_on_staff(route, frame):
    staff = route("/ws/staff")
    assert staff.answer(frame) == f"error {frame.split()[0]} unknown command"
    still_answers(staff, "/ws/staff")


# ---- kiosk: names round-trip byte for byte -------------------------------------------------

NAMES = [
    "Robert'); DROP TABLE tickets;--",
    "' OR '1'='1",
    '"; DELETE FROM visitors; --',
    "<script>alert('x')</script>",
    "<b>bold</b> &amp; &lt;tag&gt; <img src=x onerror=alert(1)>",
    '\\"quoted\\" and \\\\ back\\slashes',
    "{{ 7*7 }} ${jndi:ldap://x} %s %d %n",
    "null",
    "Zoë Ñúñez-O'Brien",
    "👩🏽‍💻 Coder 🇺🇦",  # a ZWJ sequence, a skin tone, a flag
    "محمد بن موسى الخوارزمي",  # Arabic, right to left
    "שלום עליכם",  # Hebrew
    "e\u0301te\u0301 Cafe\u0301",  # combining acute accents, not normalised
    "Z\u0324\u0354\u0367\u0311a\u0308\u0356\u032d",  # stacked combining marks
    "李小龍 キム・ヨナ 김연아",
    "Ἀριστοτέλης",
    "a\u200db\u200cc",  # zero-width joiner and non-joiner (format characters)
    "x" * 100,
    "🙂" * 100,
]


@pytest.mark.parametrize("name", NAMES)
def test_names_round_trip_byte_for_byte(fresh, connect, desk, name):
    ada = desk("ada", 3)
    display = connect("/ws/display")
    kiosk = connect("/ws/kiosk")
    display.sync()
    t, raw = new_ticket(kiosk, "odd@example.org", name)
    assert t["name"].encode() == name.encode()
    new = ada.until(lambda m: m.startswith("new "))[0]
    assert new == f"new {raw}"
    assert ticket(new.removeprefix("new "))["name"].encode() == name.encode()
    assert kiosk.ask("query odd@example.org").encode() == f"success query {name}".encode()
    assert ada.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    ada.sync()
    (shown,) = display.sync()
    assert ticket(shown.split(" ", 3)[3])["name"].encode() == name.encode()
    engine = fresh.engine()  # the tables survived whatever the name said
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM tickets")).scalars().all() == [name]
        assert conn.execute(sa.text("SELECT count(*) FROM visitors")).scalar() == 1
    engine.dispose()


@pytest.mark.parametrize("email", ["zoë@example.org", "o'brien@example.org",
                                   "<b>x</b>@example.org", "a+tag@sub.example.co.uk"])
def test_odd_but_valid_emails_round_trip(fresh, connect, email):
    kiosk = connect("/ws/kiosk")
    t, _ = new_ticket(kiosk, email, "Ada")
    assert t["email"] == email
    assert kiosk.ask(f"query {email.upper()}") == "success query Ada"


@pytest.mark.parametrize(
    "name",
    ["\x1b[31mred", "a\x7fb", "bell\x07", "line\u2028separator", "para\u2029graph",
     "\u202eevil", "iso\u2066late\u2069", "cr\rlf", "nul\x00"],
)
def test_names_with_control_characters_are_refused(fresh, connect, name):
    kiosk = connect("/ws/kiosk")
    assert kiosk.ask(f"new ctl@example.org {name}") == NOT_PRINTABLE
    still_answers(kiosk, "/ws/kiosk")


@pytest.mark.parametrize("frame,reply", [
    ("new", "error new email is missing"),
    ("new " + "a" * 300 + "@example.org Ada", "error new email is not a valid address"),
    ("new ada@example.org " + "n" * 4000, "error new name is longer than 100 characters"),
    ("new ada@exa\x00mple.org Ada", "error new email is not a valid address"),
    ("new \u202eada@example.org Ada", "error new email is not a valid address"),
    ("query ' OR 1=1 --", "error query email is not a valid address"),
    ("query x'or'1'='1@example.org", "error query visitor email does not exist"),
    ("query " + HUGE, "error query email is not a valid address"),
    ("accept 1", "error accept unknown command"),
])
def test_kiosk_bad_input(fresh, connect, frame, reply):
    kiosk = connect("/ws/kiosk")
    assert kiosk.ask(frame) == reply
    still_answers(kiosk, "/ws/kiosk")


def test_invalid_utf8_in_a_text_frame_fails_only_that_connection(fresh, connect):
    """Not text at all: RFC 6455 requires closing with 1007; the server itself goes on."""
    kiosk = connect("/ws/kiosk")
    kiosk.ws.send(b"new a@b.org \xff\xfe", opcode=0x1)
    assert kiosk.close_code() == 1007
