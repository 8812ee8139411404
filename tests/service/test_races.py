"""Races: many connections send the same contested command at the same instant (threads
released by one barrier, clients connected beforehand), many rounds. Exactly one wins,
everyone else gets the documented refusal, and the database agrees afterwards."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.kit.client import Client, new_ticket, ticket
from tests.kit.database import rows
from tests.kit.races import BARRIER_TIMEOUT, at_once

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}

ROUNDS = 25


def test_twenty_staff_accept_the_same_ticket_exactly_one_wins(fresh, connect, desk):
    desks = [desk(f"s{i:02d}", i) for i in range(20)]
    clients = [d.client for d in desks]
    kiosk = connect("/ws/kiosk")
    winners: list[str] = []
    for round_ in range(ROUNDS):
        t, raw = new_ticket(kiosk, f"race{round_}@example.org", f"Racer {round_}")
        for client in clients:
            assert client.until(lambda m: m.startswith("new "))[0] == f"new {raw}"
        claims: dict[int, str] = {}

        def read_claim(client: Client, reply: str, skipped: list[str],
                       claims: dict[int, str] = claims) -> None:  # this round's
            broadcast = [m for m in skipped if m.startswith("claimed ")]
            if not broadcast:
                broadcast = [client.until(lambda m: m.startswith("claimed "))[0]]
            claims[id(client)] = broadcast[0]

        replies = at_once(clients, [f"accept {t['id']}"] * len(clients), read_claim)
        won = [i for i, r in enumerate(replies) if r == f"success claimed {t['id']}"]
        assert len(won) == 1, replies
        lost = [r for i, r in enumerate(replies) if i != won[0]]
        assert lost == ["error accept this ticket is now claimed"] * 19
        winner = desks[won[0]]
        # Every console heard of the one claim, naming the one winner.
        for client in clients:
            assert (ticket(claims[id(client)].removeprefix("claimed "))
                    == {**t, "staff": winner.name})
        assert winner.answer(f"complete {t['id']}") == f"success complete {t['id']}"
        winners.append(winner.name)

    tickets = rows(fresh, "SELECT t.status, s.username, t.claimed_at IS NOT NULL, "
                          "t.ended_at IS NOT NULL FROM tickets t "
                          "JOIN staff s ON s.id = t.staff_id ORDER BY t.id")
    assert tickets == [("completed", name, True, True) for name in winners]


def test_staff_picking_one_table_exactly_one_wins(fresh, connect):
    names = [f"p{i}" for i in range(8)]
    tokens = fresh.add_staffs(*names)
    clients = [connect("/ws/staff") for _ in names]
    for client in clients:
        assert client.recv().startswith("taken")
    holds: dict[str, int] = {}
    for table in range(ROUNDS):
        replies = at_once(clients, [f"pick {table} {token}" for token in tokens])
        won = [i for i, r in enumerate(replies) if r == f"success pick {table}"]
        assert len(won) == 1, replies
        assert [r for i, r in enumerate(replies) if i != won[0]] == (
            ["error pick the chosen table is not available"] * (len(names) - 1))
        holds[names[won[0]]] = table  # a winner of an earlier round has moved
    assigned = rows(fresh, "SELECT s.username, a.table_number FROM table_assignments a "
                           "JOIN staff s ON s.id = a.staff_id")
    assert dict(assigned) == holds and len(assigned) == len(holds)
    taken = " ".join(str(t) for t in sorted(holds.values()))
    assert connect("/ws/staff").recv() == f"taken {taken}"


def test_one_staff_member_on_two_connections_serves_one_ticket(fresh, connect, desk):
    ada = desk("ada", 3)
    second = connect("/ws/staff")
    assert second.recv() == "taken 3"
    assert second.answer(f"pick 3 {ada.token}") == "success pick 3"
    clients = [ada.client, second]
    kiosk = connect("/ws/kiosk")
    completed: list[int] = []
    for round_ in range(ROUNDS):
        a, _ = new_ticket(kiosk, f"a{round_}@example.org", "First")
        b, _ = new_ticket(kiosk, f"b{round_}@example.org", "Second")
        replies = at_once(clients, [f"accept {a['id']}", f"accept {b['id']}"])
        won = [i for i, r in enumerate(replies) if r.startswith("success claimed ")]
        assert len(won) == 1, replies
        assert replies[1 - won[0]] == "error accept you are already serving a ticket"
        tid = (a, b)[won[0]]["id"]
        assert replies[won[0]] == f"success claimed {tid}"
        # Either console may finish it: the ticket is the staff member's.
        assert clients[1 - won[0]].answer(f"complete {tid}") == f"success complete {tid}"
        completed.append(tid)
    by_status = dict(rows(fresh, "SELECT status, count(*) FROM tickets GROUP BY status"))
    assert by_status == {"completed": ROUNDS, "waiting": ROUNDS}
    done = rows(fresh, "SELECT id FROM tickets WHERE status = 'completed' ORDER BY id")
    assert [i for (i,) in done] == completed


def test_one_staff_member_picking_two_tables_at_once_ends_with_one(fresh, connect, desk):
    token = fresh.add_staff("ada")
    clients = [connect("/ws/staff") for _ in range(2)]
    for client in clients:
        client.recv()
    for round_ in range(ROUNDS):
        tables = (2 * round_, 2 * round_ + 1)
        replies = at_once(clients, [f"pick {t} {token}" for t in tables])
        ok = [t for t, r in zip(tables, replies, strict=True) if r == f"success pick {t}"]
        assert ok, replies  # at least one; both when they ran one after the other (a move)
        assert all(r == f"success pick {t}" or r == "error pick the chosen table is not available"
                   for t, r in zip(tables, replies, strict=True)), replies
        held = rows(fresh, "SELECT table_number FROM table_assignments")
        assert len(held) == 1 and held[0][0] in ok, (held, replies)


@pytest.mark.parametrize("kiosks", [10])
def test_kiosks_signing_in_the_same_email_at_once(fresh, connect, kiosks):
    """The visitor row is created once; every ticket exists; the name is one of those given."""
    clients = [connect("/ws/kiosk") for _ in range(kiosks)]
    for round_ in range(5):
        email = f"same{round_}@example.org"
        names = [f"Name {i}" for i in range(kiosks)]
        replies = at_once(clients, [f"new {email} {n}" for n in names])
        assert all(r.startswith("success new ") for r in replies), replies
        assert len({ticket(r.removeprefix("success new "))["id"] for r in replies}) == kiosks
        reply = clients[0].ask(f"query {email}")
        assert reply.removeprefix("success query ") in names
    assert rows(fresh, "SELECT count(*) FROM visitors") == [(5,)]
    assert rows(fresh, "SELECT count(*) FROM tickets") == [(5 * kiosks,)]


def test_taken_stays_true_while_staff_come_and_go_at_once(fresh, connect):
    """Concurrent unpick/pick cycles: afterwards every tableless console's last `taken` is
    the real set, and a console whose staff member holds a table gets no `taken`."""
    names = [f"m{i}" for i in range(8)]
    tokens = fresh.add_staffs(*names)
    movers = [connect("/ws/staff") for _ in names]
    for client, token, i in zip(movers, tokens, range(len(names)), strict=True):
        client.recv()
        assert client.answer(f"pick {i} {token}") == f"success pick {i}"
    observers = [connect("/ws/staff") for _ in range(3)]
    for observer in observers:
        observer.recv()
    barrier = threading.Barrier(len(movers), timeout=BARRIER_TIMEOUT)

    def churn(i: int) -> None:
        barrier.wait()
        for cycle in range(10):
            assert movers[i].answer("unpick") == "success unpick"
            table = i if cycle % 2 else i + 20
            assert movers[i].answer(f"pick {table} {tokens[i]}") == f"success pick {table}"

    with ThreadPoolExecutor(max_workers=len(movers)) as pool:
        list(pool.map(churn, range(len(movers))))
    for client in movers:
        client.sync()
    taken = " ".join(["taken", *(str(t) for (t,) in rows(
        fresh, "SELECT table_number FROM table_assignments ORDER BY table_number"))])
    for observer in observers:
        seen = [m for m in observer.sync() if m.startswith("taken")]
        assert seen[-1] == taken, seen[-3:]
    # One more change: only tableless consoles hear of it.
    late = connect("/ws/staff")
    late.recv()
    assert late.answer(f"pick 45 {fresh.add_staff('late')}") == "success pick 45"
    late.sync()
    for i, client in enumerate(movers):
        assert client.sync() == [], f"{names[i]} holds a table but was sent taken"
    for observer in observers:
        assert observer.sync() == [f"{taken} 45"]


def display_state(messages: list[str], state: dict[int, object] | None = None) -> dict[int, object]:
    """What a display shows after `messages`: table -> None (open) or (staff, ticket id)."""
    state = {} if state is None else state
    for message in messages:
        word, _, rest = message.partition(" ")
        if word == "pick":
            state[int(rest)] = None
        elif word == "unpick":
            state.pop(int(rest), None)
        elif word in ("complete", "cancel"):
            assert int(rest) in state, (message, state)
            state[int(rest)] = None
        elif word == "claimed":
            staff, table, raw = rest.split(" ", 2)
            state[int(table)] = (staff, ticket(raw)["id"])
    return state


def test_a_live_display_ends_where_a_new_one_starts(fresh, connect):
    """Staff move between few tables at once while serving: the display that watched it all
    shows exactly what a display connecting afterwards is told."""
    names = [f"d{i}" for i in range(6)]
    tokens = fresh.add_staffs(*names)
    consoles = [connect("/ws/staff") for _ in names]
    for i, (console, token) in enumerate(zip(consoles, tokens, strict=True)):
        console.recv()
        assert console.answer(f"pick {10 + i} {token}") == f"success pick {10 + i}"
    kiosk = connect("/ws/kiosk")
    for i, console in enumerate(consoles[:3]):
        t, _ = new_ticket(kiosk, f"v{i}@example.org", "Visitor")
        assert console.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    watcher = connect("/ws/display")
    watched = display_state(watcher.sync())
    barrier = threading.Barrier(len(consoles), timeout=BARRIER_TIMEOUT)

    def churn(i: int) -> None:
        barrier.wait()
        for step in range(12):
            table = (i + step) % 8 if step % 3 else 10 + i
            reply = consoles[i].answer(f"pick {table} {tokens[i]}")
            assert reply in (f"success pick {table}",
                             "error pick the chosen table is not available")
            if step % 4 == 3:
                assert consoles[i].answer("unpick") == "success unpick"

    with ThreadPoolExecutor(max_workers=len(consoles)) as pool:
        list(pool.map(churn, range(len(consoles))))
    for console in consoles:
        console.sync()
    watched = display_state(watcher.sync(), watched)
    assert watched == display_state(connect("/ws/display").sync())
