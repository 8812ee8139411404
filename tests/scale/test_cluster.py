"""Two servers (two "hosts") of three workers each, one PostgreSQL, one Redis: every
screen hears every message, and every race has exactly one winner."""

from __future__ import annotations

import json

from tests.kit.scale import console, staff_tokens

ROUNDS = 12
RACERS = 6  # staff members racing for each ticket, half on each server


def test_kiosk_on_one_host_reaches_staff_and_displays_on_the_other(cluster, opened) -> None:
    one, two = cluster
    one.reset()
    tokens = staff_tokens(one, [f"host{i}" for i in range(4)])
    displays = [two.connect("/ws/display") for _ in range(4)]
    opened.extend(displays)
    staff = [console(two, opened, token, table) for table, token in enumerate(tokens)]
    for display in displays:
        assert display.drain() == [f"pick {t}" for t in range(4)]
    for client in staff:
        client.drain()
    kiosk = one.connect("/ws/kiosk")
    opened.append(kiosk)
    replies = [kiosk.ask(f"new v{i}@example.org Visitor {i}") for i in range(5)]
    tickets = [r.removeprefix("success new ") for r in replies]
    for client in staff:
        assert client.drain() == [f"new {t}" for t in tickets]
    first = json.loads(tickets[0])["id"]
    assert staff[2].ask(f"accept {first}") == f"success claimed {first}"
    for client in staff:
        claimed = client.recv()
        assert json.loads(claimed.removeprefix("claimed "))["id"] == first
    assert staff[2].ask(f"complete {first}") == f"success complete {first}"
    heard = [d.drain() for d in displays]
    assert heard[0][0].startswith("claimed host2 2 ") and heard[0][1:] == ["complete 2"]
    assert all(h == heard[0] for h in heard), "every display hears the same messages"
    assert all(client.drain() == [] for client in staff)


def test_accept_race_across_hosts_has_one_winner(cluster, opened) -> None:
    one, two = cluster
    one.reset()
    tokens = staff_tokens(one, [f"racer{i}" for i in range(RACERS)])
    racers = [console((one, two)[i % 2], opened, token, i) for i, token in enumerate(tokens)]
    kiosk = two.connect("/ws/kiosk")
    opened.append(kiosk)
    for _ in range(ROUNDS):
        reply = kiosk.ask("new race@example.org Race Visitor")
        ticket = json.loads(reply.removeprefix("success new "))["id"]
        for racer in racers:
            assert racer.recv().startswith("new ")
        for racer in racers:  # all requests in flight before any reply is read
            racer.send(f"accept {ticket}")
        # Each racer hears its answer and the winner's `claimed`; a loser may hear the
        # broadcast first, the winner always hears its answer first.
        heard = [[racer.recv(), racer.recv()] for racer in racers]
        replies = [next(m for m in pair if not m.startswith("claimed ")) for pair in heard]
        winners = [i for i, r in enumerate(replies) if r == f"success claimed {ticket}"]
        assert len(winners) == 1, replies
        assert heard[winners[0]][0] == f"success claimed {ticket}"
        losers = [r for r in replies if r != f"success claimed {ticket}"]
        assert set(losers) == {"error accept this ticket is now claimed"}
        winner = racers[winners[0]]
        assert winner.ask(f"complete {ticket}") == f"success complete {ticket}"


def test_one_staff_member_on_two_hosts_serves_one_ticket(cluster, opened) -> None:
    one, two = cluster
    one.reset()
    (token,) = staff_tokens(one, ["twin"])
    left, right = console(one, opened, token, 7), console(two, opened, token, 7)
    kiosk = one.connect("/ws/kiosk")
    opened.append(kiosk)
    for _ in range(ROUNDS // 2):
        ids = [json.loads(kiosk.ask(f"new t{i}@example.org Twin {i}").split(" ", 2)[2])["id"]
               for i in range(2)]
        left.drain(), right.drain()
        left.send(f"accept {ids[0]}")
        right.send(f"accept {ids[1]}")
        replies = {left.reply()[0], right.reply()[0]}
        won = [i for i in ids if f"success claimed {i}" in replies]
        assert len(won) == 1, replies
        assert "error accept you are already serving a ticket" in replies
        assert left.answer(f"cancel {won[0]}") == f"success cancel {won[0]}"
        lost = ids[1] if won[0] == ids[0] else ids[0]
        assert left.answer(f"accept {lost}") == f"success claimed {lost}"
        assert right.answer(f"complete {lost}") == f"success complete {lost}"
        left.drain(), right.drain()


def test_table_race_across_hosts_has_one_winner(cluster, opened) -> None:
    one, two = cluster
    one.reset()
    tokens = staff_tokens(one, [f"picker{i}" for i in range(RACERS)])
    pickers = []
    for i in range(RACERS):
        client = (one, two)[i % 2].connect("/ws/staff")
        opened.append(client)
        assert client.recv() == "taken"
        pickers.append(client)
    for table in range(ROUNDS):
        for picker, token in zip(pickers, tokens, strict=True):
            picker.send(f"pick {table} {token}")
        replies = [p.reply()[0] for p in pickers]
        assert replies.count(f"success pick {table}") == 1, replies
        assert replies.count("error pick the chosen table is not available") == RACERS - 1
        winner = pickers[replies.index(f"success pick {table}")]
        assert winner.answer("unpick") == "success unpick"
