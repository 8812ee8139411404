"""Nothing crosses sites, continued (issue 22, docs/sites.md): a staff member who works at
both sites moves from one to the other (one table in all; not while serving a visitor, who
could not follow), a ticket in service that follows its staff member to another table
stays on its own site's screens, a phone counts only its own site's line, a visitor
leaving tells only that site's staff, a console at one site cannot act on a table held at
the other, and a logout greets each site's consoles with that site's tables."""

from __future__ import annotations

from tests.kit.client import EPOCH, new_ticket, ticket
from tests.kit.database import rows
from tests.kit.follow import state
from tests.kit.live import LiveServer
from tests.kit.sites import (
    MAIN,
    OLD,
    B,
    clean_reply,
    heard_nothing,
    new_with_link,
    on_display,
    quiet_until,
    read_all,
    seat,
    seats,
    serve,
    ws,
)

SERVER_ENV = {"RATE_LIMITS": "off"}
BUSY = "error pick you are already serving a ticket"


def tables_of(server: LiveServer, username: str) -> list[tuple[str, int]]:
    return rows(server, "SELECT s.slug, t.table_number FROM table_assignments t "
                        "JOIN sites s ON s.id = t.site_id JOIN staff f ON f.id = t.staff_id "
                        "WHERE f.username = :u", u=username)


def test_a_member_of_both_sites_moves_between_them(server, tokens, connect, a, b):
    a1, _ = new_ticket(a.kiosk, "a1@example.org", "Served at A")
    _, raw_b1 = new_ticket(b.kiosk, "b1@example.org", "Waits at B")
    (bea,) = seats(connect, tokens, (B, "bea", 3))
    cal_a = seat(connect, MAIN, "cal", tokens["cal"], 2)
    serve(cal_a, a1["id"])
    read_all(*a.observers(), *b.observers(), bea)

    # Serving a's visitor, who cannot follow them to b: refused, and nothing moves.
    cal_b = seat(connect, B, "cal", tokens["cal"])
    assert clean_reply(cal_b, f"pick 0 {tokens['cal']}") == BUSY
    assert clean_reply(cal_b, f"complete {a1['id']}") == (
        "error complete you are not assigned to any table")  # bound to nobody
    assert tables_of(server, "cal") == [("main", 2)]
    heard_nothing(*a.observers(), *b.observers(), bea, cal_b)
    assert cal_a.answer(f"complete {a1['id']}") == f"success complete {a1['id']}"
    read_all(*a.observers())

    # Then a pick at the other site moves them, as a pick of another table does.
    assert clean_reply(cal_b, f"pick 0 {tokens['cal']}") == "success pick 0"
    assert cal_b.sync() == [f"new {raw_b1}"]  # the bind replay: b's line only
    assert tables_of(server, "cal") == [("b", 0)]
    assert [c.recv() for c in (*a.displays, a.watcher)] == ["unpick 2"] * 3
    assert a.unbound.recv() == "taken"
    for display in (*b.displays, b.watcher):
        quiet_until(display, "pick 0")
    quiet_until(b.unbound, "taken 0 3")
    heard_nothing(*a.observers(), *b.observers(), bea)
    # And back: b sees its table freed.
    assert cal_a.answer(f"pick 2 {tokens['cal']}") == "success pick 2"
    assert [c.recv() for c in a.displays] == ["pick 2"] * 2
    for display in b.displays:
        quiet_until(display, "unpick 0")
    heard_nothing(*a.displays, *b.displays)


def test_a_ticket_follows_its_staff_member_only_on_its_own_site(tokens, connect, a, b):
    b1, raw_b1 = new_ticket(b.kiosk, "b1@example.org", "Served at B")
    ann, bea = seats(connect, tokens, (OLD, "ann", 1), (B, "bea", 3))
    serve(bea, b1["id"])
    read_all(*a.observers(), *b.observers(), ann)
    assert clean_reply(bea, f"pick 4 {tokens['bea']}") == "success pick 4"
    for display in b.displays:
        assert [display.recv() for _ in range(3)] == [
            "unpick 3", "pick 4", on_display(raw_b1, "bea", 4)]
    assert clean_reply(ann, f"pick 2 {tokens['ann']}") == "success pick 2"
    for display in (*a.displays, a.watcher):
        quiet_until(display, "unpick 1")
        assert display.recv() == "pick 2"
    quiet_until(a.unbound, "taken 2")
    heard_nothing(*a.observers(), *b.displays, ann)


def test_a_phone_counts_its_own_sites_line_and_leaving_tells_its_own_staff(
        tokens, connect, a, b):
    ann, bea = seats(connect, tokens, (OLD, "ann", 1), (B, "bea", 3))
    new_ticket(a.kiosk, "a1@example.org", "A 1")
    a2, code_a = new_with_link(a.kiosk, "a2@example.org", "A 2")
    b1, raw_b1 = new_ticket(b.kiosk, "b1@example.org", "B 1")
    _, code_b = new_with_link(b.kiosk, "b2@example.org", "B 2")
    new_ticket(b.kiosk, "b3@example.org", "B 3")
    read_all(*a.observers(), *b.observers(), ann, bea)
    phone_a, phone_b = connect("/ws/visitor"), connect("/ws/visitor")
    latest = {}
    for phone, code in ((phone_a, code_a), (phone_b, code_b)):
        assert phone.ask(f"follow {code}") == "success follow"
        # One ahead at each site: a's two tickets made before b's are not in b's line.
        assert state(phone.recv())["ahead"] == 1
        assert phone.ask("refresh") == "success refresh"  # read afresh: the same
        latest[code] = state(phone.recv())
        assert latest[code]["ahead"] == 1

    assert phone_a.ask("leave") == "success leave"
    assert state(phone_a.recv())["status"] == "left"
    left = ticket(ann.recv().removeprefix("claimed "))
    assert (left["id"], left["staff"]) == (a2, "") and left["end"] != EPOCH
    assert a.watcher.recv() == "waiting 1"
    # b: the first in line is called, its phone moves up, with nothing of a's before.
    serve(bea, b1["id"])
    now = latest[code_b]
    message, before = phone_b.until(lambda m: m.startswith("state ") and state(m) != now)
    # The same state again is harmless (states, not events); a count of a's line is not.
    assert [state(m) for m in before] == [now] * len(before), before
    assert state(message)["ahead"] == 0, message
    quiet_until(b.watcher, on_display(raw_b1, "bea", 3))
    quiet_until(b.watcher, "waiting 2")
    heard_nothing(*a.observers(), ann, phone_a, phone_b)


def test_a_console_at_one_site_acts_on_nothing_of_the_other(server, tokens, connect):
    """cal, logged in at both sites, holds a table at b: the console at a has no table
    there; a logout greets each console with its own site's tables."""
    seats(connect, tokens, (OLD, "ann", 1), (B, "bea", 3))
    waiting, _ = new_ticket(connect(ws(OLD, "kiosk")), "a@example.org", "Waits at A")
    cookie = server.login("cal")
    assert cookie
    at_a = connect(ws(OLD, "staff"), [f"Cookie: {cookie}"])
    at_b = connect(ws(B, "staff"), [f"Cookie: {cookie}"])
    assert at_a.sync()[-1:] == ["taken 1"]  # bound (the replay: a's ticket), no table here
    assert at_b.sync() == ["taken 3"]
    assert clean_reply(at_b, "pick 4") == "success pick 4"
    at_b.sync()
    heard_nothing(at_a)  # b's tables changed, not a's
    display_b = connect(ws(B, "display"))
    display_b.sync()
    for word in ("away", "back", "unpick"):
        assert clean_reply(at_a, word) == f"error {word} you do not have a table assigned"
    assert clean_reply(at_a, f"accept {waiting['id']}") == (
        "error accept you do not have a table chosen")
    assert tables_of(server, "cal") == [("b", 4)]
    heard_nothing(display_b)
    server.logout(cookie)
    # Unbound at once, each greeted like a new console of its own site.
    assert at_a.recv() == "taken 1"
    assert at_b.recv() == "taken 3 4"
    heard_nothing(at_a, at_b)
