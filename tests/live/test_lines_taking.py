"""Taking tickets from service lines over the wire (docs/lines.md): the kiosk's `join` and
a seed kiosk's `new` (the first open line), `next` under the order rule within a line and
across lines, raced `next`s (each ticket taken once), `transfer` to its original
arrival's place (the phone, the display, seed consoles), the shared limit of put-backs
and transfers, and each command's errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.kit.client import Client, Desk, new_ticket, ticket
from tests.kit.database import rows
from tests.kit.follow import follow, next_state
from tests.kit.lines import add_lines, ask_lines, greeting, join, lined, orders, set_open
from tests.kit.live import LiveServer
from tests.kit.races import at_once

SERVER_ENV = {"RATE_LIMITS": "off", "PRIORITY_RUN": "2"}


@pytest.fixture
def lines(fresh: LiveServer) -> dict[str, int]:
    """General (every site's first line), then Aid and Records: their ids by name."""
    return add_lines(fresh, "Aid", "Records")


def arrive(kiosk: Client, line: int, n: int) -> int:
    return int(join(kiosk, line, f"v{n}@example.org", f"Visitor {n}")["id"])


def take(desk: Desk) -> int:
    """`next`, then complete it: the id taken."""
    reply = desk.answer("next")
    assert reply.startswith("success next "), reply
    taken = int(reply.split(" ")[2])
    assert desk.answer(f"complete {taken}") == f"success complete {taken}"
    return taken


def line_of(server: LiveServer, ticket_id: int) -> int:
    return int(rows(server, "SELECT line_id FROM tickets WHERE id = :id", id=ticket_id)[0][0])


def test_join_and_new_choose_a_line_and_refuse_closed_ones(
        fresh: LiveServer, lines: dict[str, int], kiosk: Client) -> None:
    aid, records, general = lines["Aid"], lines["Records"], lines["General"]
    made = join(kiosk, aid, "ada@example.org", "Ada Lovelace")
    assert made["line"] == aid and line_of(fresh, made["id"]) == aid
    # A seed kiosk's `new`: the first open line, and the seed reply (six keys exactly).
    value, _ = new_ticket(kiosk, "bob@example.org", "Bob")
    assert line_of(fresh, value["id"]) == general
    set_open(fresh, general, False)
    value, _ = new_ticket(kiosk, "cy@example.org", "Cy")
    assert line_of(fresh, value["id"]) == aid
    assert kiosk.ask("join 99999 dee@example.org Dee") == "error join line does not exist"
    assert kiosk.ask("join x dee@example.org Dee") == "error join line does not exist"
    assert kiosk.answer(f"join {general} dee@example.org Dee") == "error join this line is closed"
    assert kiosk.answer(f"join {aid} nobody Dee") == "error join email is not a valid address"
    assert kiosk.answer(f"join {aid} dee@example.org") == "error join name is missing"
    for line in (aid, records):
        set_open(fresh, line, False)
    assert kiosk.ask("new eve@example.org Eve") == "error new the queue is closed"
    assert kiosk.answer(f"join {aid} eve@example.org Eve") == "error join the queue is closed"
    assert kiosk.ask("join 99999 eve@example.org Eve") == "error join the queue is closed"
    assert kiosk.ask("query ada@example.org") == "success query Ada Lovelace"


def test_next_follows_the_order_rule_within_a_line(
        fresh: LiveServer, kiosk: Client, desk: Callable[..., Desk]) -> None:
    """PRIORITY_RUN=2, arrivals N1 N2 P1 P2 P3: P1 P2 N1 N2 P3 (the issue's example);
    `order` says so before each take."""
    general = add_lines(fresh)["General"]
    n1, n2, p1, p2, p3 = (arrive(kiosk, general, n) for n in range(5))
    ann = desk("ann", 1)
    for ticket_id in (p1, p2, p3):
        assert ann.answer(f"priority {ticket_id} uses a wheelchair") == \
            f"success priority {ticket_id}"
    watcher = desk("bob", 2)
    _, waiting, order = greeting(ask_lines(watcher))
    assert order == {general: [p1, p2, n1, n2, p3]}
    assert [t["priority"] for t in waiting] == [None, None, "uses a wheelchair",
                                                 "uses a wheelchair", "uses a wheelchair"]
    taken = []
    for expected in ([p2, n1, n2, p3], [n1, n2, p3], [n2, p3], [p3], []):
        taken.append(take(ann))
        frame, _ = watcher.until(lambda m: m.startswith(f"order {general}"))
        assert orders([frame]) == {general: expected}
    assert taken == [p1, p2, n1, n2, p3]
    assert ann.answer("next") == "error next nobody is waiting in your lines"


def test_next_takes_the_longest_waiting_head_across_ones_lines(
        lines: dict[str, int], kiosk: Client, desk: Callable[..., Desk]) -> None:
    aid, records, general = lines["Aid"], lines["Records"], lines["General"]
    r1 = arrive(kiosk, records, 1)
    a1, g1, a2, g2 = (arrive(kiosk, line, n) for n, line in
                      enumerate((aid, general, aid, general), start=2))
    ann = desk("ann", 1)
    assert ann.answer(f"serve {general} {aid}") == f"success serve {general} {aid}"
    assert ann.answer(f"priority {g2} pregnant") == f"success priority {g2}"
    # Heads: Aid's a1, General's g2 (priority, first there): a1 arrived first; then Aid's
    # a2 against g2: a2 did; then g2 before g1 in General.
    assert [take(ann) for _ in range(4)] == [a1, a2, g2, g1]
    assert ann.answer("next") == "error next nobody is waiting in your lines"
    # `accept ID` still takes any waiting ticket of the site, whatever one serves.
    assert ann.answer(f"accept {r1}") == f"success claimed {r1}"


def test_raced_next_takes_each_ticket_once(
        lines: dict[str, int], kiosk: Client, desk: Callable[..., Desk]) -> None:
    ids = {arrive(kiosk, line, n) for n, line in enumerate(list(lines.values()) * 4)}
    desks = [desk(f"s{n}", n) for n in range(6)]
    for n, d in enumerate(desks):  # overlapping choices: each line served by several
        chosen = list(lines.values())[n % 3:] or list(lines.values())
        assert d.answer("serve " + " ".join(map(str, chosen))).startswith("success serve ")
    taken: list[int] = []
    while True:
        replies = at_once([d.client for d in desks], ["next"] * len(desks))
        won = [int(r.split(" ")[2]) for r in replies if r.startswith("success next ")]
        assert all(r.startswith("success next ") or
                   r == "error next nobody is waiting in your lines" for r in replies), replies
        if not won:
            break
        taken.extend(won)
        for d, reply in zip(desks, replies, strict=True):
            if reply.startswith("success next "):
                done = reply.split(" ")[2]
                assert d.answer(f"complete {done}") == f"success complete {done}"
    assert sorted(taken) == sorted(ids)  # every ticket once, none twice


def test_transfer_keeps_the_original_place_and_tells_every_screen(
        fresh: LiveServer, lines: dict[str, int], kiosk: Client, connect: Callable[[str], Client],
        desk: Callable[..., Desk], opened: list[Client]) -> None:
    aid, general = lines["Aid"], lines["General"]
    raw_first = kiosk.answer(f"join {general} ada@example.org Ada")
    first = lined(raw_first.removeprefix("success join "), ("id", "email", "name", "staff",
                                                              "start", "end", "line"))
    link = kiosk.answer(f"link {first['id']}")
    assert link.startswith(f"success link {first['id']} "), link
    a1, a2 = arrive(kiosk, aid, 1), arrive(kiosk, aid, 2)
    phone, state = follow(fresh, link.split(" ")[3])
    opened.append(phone)
    assert state["line"] == "General" and state["ahead"] == 0
    display = connect("/ws/display")
    display.sync()
    seed = desk("cy", 5)  # a seed console: it never sent `lines`
    ann = desk("ann", 1)
    aid_console = desk("bob", 2)
    assert aid_console.answer(f"serve {aid}") == f"success serve {aid}"
    ask_lines(aid_console)
    assert ann.answer(f"accept {first['id']}") == f"success claimed {first['id']}"
    assert next_state(phone)["status"] == "serving"
    assert ann.answer(f"transfer {first['id']} {aid}") == f"success transfer {first['id']} {aid}"
    # The phone: waiting in Aid, first (it arrived before a1 and a2).
    state = next_state(phone)
    assert (state["status"], state["ahead"], state["line"]) == ("waiting", 0, "Aid")
    # The display: the call ends, as for a put-back.
    assert display.until(lambda m: m == "cancel 1")[0] == "cancel 1"
    # A seed console: `new` again with its original start, six keys.
    frame, _ = seed.until(lambda m: m.startswith("new ") and f'"id":{first["id"]},' in m)
    again = ticket(frame.removeprefix("new "))
    assert again["start"] == first["start"] and again["staff"] == ""
    # A console serving Aid: the ticket in its line, and the line's order with it first.
    frame, _ = aid_console.until(lambda m: m.startswith("new ") and f'"id":{first["id"]},' in m)
    assert lined(frame.removeprefix("new "))["line"] == aid
    frame, _ = aid_console.until(lambda m: m.startswith(f"order {aid} "))
    assert orders([frame]) == {aid: [first["id"], a1, a2]}
    assert rows(fresh, "SELECT line_id, transferred_from, requeue_count FROM tickets "
                       "WHERE id = :id", id=first["id"]) == [(aid, general, 1)]
    assert rows(fresh, "SELECT from_line_id, to_line_id FROM transfers WHERE ticket_id = :id",
                id=first["id"]) == [(general, aid)]
    assert take(aid_console) == first["id"]


def test_put_backs_and_transfers_share_one_limit_and_transfer_errors(
        fresh: LiveServer, lines: dict[str, int], kiosk: Client,
        desk: Callable[..., Desk]) -> None:
    aid, records, general = lines["Aid"], lines["Records"], lines["General"]
    ticket_id = arrive(kiosk, general, 1)
    other = arrive(kiosk, general, 2)
    ann, bob = desk("ann", 1), desk("bob", 2)
    assert ann.answer(f"transfer {ticket_id} {aid}") == \
        "error transfer you do not own this ticket"  # waiting
    assert desk("cy").answer(f"transfer {ticket_id} {aid}") == \
        "error transfer you are not assigned to any table"
    moves = [f"requeue {ticket_id}", f"transfer {ticket_id} {aid}", f"requeue {ticket_id}"]
    for move in moves:
        assert ann.answer(f"accept {ticket_id}") == f"success claimed {ticket_id}"
        assert ann.answer(move).startswith("success "), move
    assert ann.answer(f"accept {ticket_id}") == f"success claimed {ticket_id}"
    assert ann.answer(f"transfer {ticket_id} {records}") == \
        "error transfer the ticket has already been put back or transferred 3 times"
    assert ann.answer(f"requeue {ticket_id}") == \
        "error requeue the ticket has already been put back 3 times"
    assert bob.answer(f"accept {other}") == f"success claimed {other}"
    assert bob.answer(f"transfer {other} 99999") == "error transfer line does not exist"
    assert bob.answer(f"transfer {other} x") == "error transfer line does not exist"
    assert bob.answer(f"transfer {other} {general}") == \
        "error transfer the ticket is already in this line"
    assert bob.answer(f"transfer {ticket_id} {records}") == \
        "error transfer you do not own this ticket"
    assert bob.answer("transfer 99999 1") == "error transfer ticket id does not exist"
    set_open(fresh, records, False)
    assert bob.answer(f"transfer {other} {records}") == "error transfer this line is closed"
    assert bob.answer(f"complete {other}") == f"success complete {other}"
    assert bob.answer(f"transfer {other} {aid}") == \
        "error transfer the ticket has already been completed or cancelled"




def test_priority_serve_and_next_errors(
        fresh: LiveServer, lines: dict[str, int], kiosk: Client, connect: Callable[[str], Client],
        desk: Callable[..., Desk]) -> None:
    aid, general = lines["Aid"], lines["General"]
    waiting = arrive(kiosk, general, 1)
    served = arrive(kiosk, general, 2)
    ann = desk("ann", 1)
    assert ann.answer(f"accept {served}") == f"success claimed {served}"
    unbound = connect("/ws/staff")
    unbound.recv()  # taken
    invalid = "your session token was found to be invalid. please relogin"
    for command in (f"priority {waiting} late", f"serve {aid}", "next"):
        word = command.split(" ")[0]
        assert unbound.answer(command) == f"error {word} {invalid}"
    assert ann.answer("priority 99999 late") == "error priority ticket id does not exist"
    assert ann.answer("priority x late") == "error priority ticket id does not exist"
    assert ann.answer(f"priority {served} late") == "error priority the ticket is not waiting"
    assert ann.answer(f"priority {waiting}") == "error priority reason is missing"
    assert ann.answer(f"priority {waiting}  ") == "error priority reason is missing"
    assert ann.answer(f"priority {waiting} {'x' * 61}") == \
        "error priority reason is longer than 60 characters"
    assert ann.answer(f"priority {waiting} a\u202eb") == \
        "error priority reason contains characters that cannot be printed"
    assert ann.answer(f"priority {waiting} {'x' * 60}") == f"success priority {waiting}"
    assert ann.answer("serve 99999") == "error serve line does not exist"
    assert ann.answer(f"serve {aid} x") == "error serve line does not exist"
    assert ann.answer("serve") == "error serve choose at least one line"
    assert ann.answer("next") == "error next you are already serving a ticket"
    bob = desk("bob", 2)
    assert bob.answer("unpick") == "success unpick"
    assert bob.answer("next") == "error next you do not have a table chosen"
    cy = desk("cy", 3)
    assert cy.answer("away") == "success away"
    assert cy.answer("next") == "error next you are away from your table"
    assert cy.answer("back") == "success back"
    assert cy.answer(f"serve {aid}") == f"success serve {aid}"
    assert cy.answer("next") == "error next nobody is waiting in your lines"


def test_the_lines_one_serves_are_kept_per_account_and_site(
        fresh: LiveServer, lines: dict[str, int], kiosk: Client, connect: Callable[[str], Client],
        desk: Callable[..., Desk]) -> None:
    aid, records, general = lines["Aid"], lines["Records"], lines["General"]
    ann = desk("ann", 1)
    served, _, _ = greeting(ask_lines(ann))
    assert served == [general, aid, records]  # the default: every line, in line order
    assert ann.answer(f"serve {records} {aid}") == f"success serve {aid} {records}"
    served, _, order = greeting(ann.sync())  # its own greeting again
    assert served == [aid, records] and order == {aid: [], records: []}
    again = connect("/ws/staff")
    again.recv()
    ask_lines(again)
    again.send(f"pick 1 {ann.token}")
    assert again.reply()[0] == "success pick 1"
    assert greeting(again.sync())[0] == [aid, records]
    # Every line chosen: the default again, so a line added later is served too.
    assert ann.answer(f"serve {general} {aid} {records}").startswith("success serve ")
    assert rows(fresh, "SELECT count(*) FROM staff_lines") == [(0,)]
    newer = add_lines(fresh, "Later")["Later"]
    frame, _ = ann.until(lambda m: m.startswith("serve ") and str(newer) in m.split(" "))
    assert frame == f"serve {general} {aid} {records} {newer}"
