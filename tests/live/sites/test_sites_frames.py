"""Nothing crosses sites (issue 22, docs/sites.md): every frame an action at one site causes
(`new`, `claimed`, `complete`, `cancel`, `pick`, `unpick`, `taken`, requeue's `new` and
`cancel`, the watchers' `waiting`, `away`, `back`) reaches that site's screens and none of
the other's. The default site is reached by today's URLs and by /s/main/ at once: both
hear the same. With TEST_REDIS_URL the server has three workers, so the screens of one
site and of the other are spread over them."""

from __future__ import annotations

from tests.kit.client import new_ticket
from tests.kit.sites import (
    MAIN,
    OLD,
    B,
    as_claimed,
    clean_reply,
    heard_nothing,
    on_display,
    quiet_until,
    read_all,
    seats,
    serve,
    watching,
    ws,
)

SERVER_ENV = {"RATE_LIMITS": "off"}


def test_new_reaches_only_the_staff_of_its_site(tokens, connect, a, b):
    ann, amy, bea = seats(connect, tokens, (OLD, "ann", 1), (MAIN, "amy", 2), (B, "bea", 3))
    read_all(*a.observers(), *b.observers())
    # A count is read when it is sent: each visitor's is awaited before the next signs in.
    for n, kiosk in enumerate(a.kiosks, 1):  # by /ws/kiosk, then by /s/main/ws/kiosk
        _, raw = new_ticket(kiosk, f"a{n}@example.org", f"Visitor {n} at A")
        assert [ann.recv(), amy.recv(), a.watcher.recv()] == [f"new {raw}"] * 2 + [
            f"waiting {n}"]
    _, raw_b = new_ticket(b.kiosk, "bo@example.org", "Bo at B")
    quiet_until(bea.client, f"new {raw_b}")
    quiet_until(b.watcher, "waiting 1")
    heard_nothing(*b.observers(), bea)  # e.g. a's `waiting 2` after a's `waiting 1`
    # The default site hears nothing of b (and seed displays, unbound consoles: no `new`).
    heard_nothing(*a.observers(), ann, amy)


def test_claimed_complete_cancel_reach_only_the_screens_of_their_site(tokens, connect, a, b):
    (a1, raw_a1), (a2, raw_a2) = (new_ticket(a.kiosk, f"a{n}@example.org", f"A {n}")
                                  for n in (1, 2))
    (b1, raw_b1), (b2, raw_b2), _ = (new_ticket(b.kiosk, f"b{n}@example.org", f"B {n}")
                                     for n in (1, 2, 3))
    ann, amy, bea, ben = seats(connect, tokens, (OLD, "ann", 1), (MAIN, "amy", 2),
                               (B, "bea", 3), (B, "ben", 4))
    read_all(*a.observers(), *b.observers())

    serve(ann, a1["id"])
    assert amy.recv() == as_claimed(raw_a1, "ann")
    assert [d.recv() for d in (*a.displays, a.watcher)] == [on_display(raw_a1, "ann", 1)] * 3
    assert a.watcher.recv() == "waiting 1"
    serve(bea, b1["id"])  # b's claim: b's frames, with nothing of a's before them
    quiet_until(ben.client, as_claimed(raw_b1, "bea"))
    for display in (*b.displays, b.watcher):
        quiet_until(display, on_display(raw_b1, "bea", 3))
    quiet_until(b.watcher, "waiting 2")
    heard_nothing(*a.observers(), ann, amy)

    # Greetings: a screen connecting now is told of its own site's tables and calls only.
    assert connect(ws(B, "display")).sync() == ["pick 3", "pick 4", on_display(raw_b1, "bea", 3)]
    for prefix in (OLD, MAIN):
        assert connect(ws(prefix, "display")).sync() == [
            "pick 1", "pick 2", on_display(raw_a1, "ann", 1)]
    assert connect(ws(B, "staff")).sync() == ["taken 3 4"]
    assert connect(ws(OLD, "staff")).sync() == ["taken 1 2"]
    assert watching(connect, B, "display")[1] == ["waiting 2", "tables 5"]
    assert watching(connect, OLD, "display")[1] == ["waiting 1", "tables 50"]

    assert clean_reply(ann, f"complete {a1['id']}") == f"success complete {a1['id']}"
    assert [d.recv() for d in (*a.displays, a.watcher)] == ["complete 1"] * 3
    assert clean_reply(bea, f"complete {b1['id']}") == f"success complete {b1['id']}"
    for display in (*b.displays, b.watcher):
        quiet_until(display, "complete 3")
    heard_nothing(*a.observers())

    serve(amy, a2["id"])
    assert clean_reply(amy, f"cancel {a2['id']}") == f"success cancel {a2['id']}"
    for display in a.displays:
        assert display.sync() == [on_display(raw_a2, "amy", 2), "cancel 2"]
    assert a.watcher.sync() == [on_display(raw_a2, "amy", 2), "waiting 0", "cancel 2"]
    assert ann.sync() == [as_claimed(raw_a2, "amy")]
    serve(ben, b2["id"])
    assert clean_reply(ben, f"cancel {b2['id']}") == f"success cancel {b2['id']}"
    for display in b.displays:
        quiet_until(display, on_display(raw_b2, "ben", 4))
        quiet_until(display, "cancel 4")
    heard_nothing(*a.observers(), ann, amy)


def test_pick_unpick_and_taken_reach_only_the_screens_of_their_site(tokens, connect, a, b):
    _, raw_a = new_ticket(a.kiosk, "a@example.org", "Waits at A")
    _, raw_b = new_ticket(b.kiosk, "b@example.org", "Waits at B")
    read_all(a.watcher, b.watcher)  # `waiting 1`
    # The bind replay: the waiting tickets of the site one sits at, and no other.
    (ann,) = seats(connect, tokens, (OLD, "ann", 1))
    assert ann.replay == [f"new {raw_a}"]
    assert [d.recv() for d in (*a.displays, a.watcher)] == ["pick 1"] * 3
    assert a.unbound.recv() == "taken 1"
    (ben,) = seats(connect, tokens, (B, "ben", 4))
    assert ben.replay == [f"new {raw_b}"]
    for display in (*b.displays, b.watcher):
        quiet_until(display, "pick 4")
    quiet_until(b.unbound, "taken 4")
    (bea,) = seats(connect, tokens, (B, "bea", 3))
    assert bea.replay == [f"new {raw_b}"]
    quiet_until(b.unbound, "taken 3 4")
    heard_nothing(*a.observers(), ann)

    assert clean_reply(ann, "unpick") == "success unpick"
    assert ann.recv() == "taken"  # its own site's tables: none is taken there now
    assert [c.recv() for c in (*a.displays, a.watcher)] == ["unpick 1"] * 3
    assert a.unbound.recv() == "taken"
    assert clean_reply(bea, "unpick") == "success unpick"
    assert bea.recv() == "taken 4"
    for display in (*b.displays, b.watcher):
        quiet_until(display, "pick 3")
        quiet_until(display, "unpick 3")
    quiet_until(b.unbound, "taken 4")
    heard_nothing(*a.observers(), ann)


def test_requeue_reaches_only_the_screens_of_its_site(tokens, connect, a, b):
    (a1, raw_a1), _ = (new_ticket(a.kiosk, f"a{n}@example.org", f"A {n}") for n in (1, 2))
    (b1, raw_b1), _, _ = (new_ticket(b.kiosk, f"b{n}@example.org", f"B {n}") for n in (1, 2, 3))
    ann, amy, bea, ben = seats(connect, tokens, (OLD, "ann", 1), (MAIN, "amy", 2),
                               (B, "bea", 3), (B, "ben", 4))
    serve(ann, a1["id"])
    serve(bea, b1["id"])
    read_all(*a.observers(), *b.observers(), amy, ben)

    assert clean_reply(ann, f"requeue {a1['id']}") == f"success requeue {a1['id']}"
    assert amy.recv() == f"new {raw_a1}"
    assert [d.recv() for d in (*a.displays, a.watcher)] == ["cancel 1"] * 3
    assert a.watcher.recv() == "waiting 2"
    assert clean_reply(bea, f"requeue {b1['id']}") == f"success requeue {b1['id']}"
    quiet_until(ben.client, f"new {raw_b1}")
    for display in (*b.displays, b.watcher):
        quiet_until(display, "cancel 3")
    quiet_until(b.watcher, "waiting 3")
    heard_nothing(*a.observers(), amy)


def test_away_and_back_reach_only_the_watchers_of_their_site(tokens, connect, a, b):
    ann, amy, bea, ben = seats(connect, tokens, (OLD, "ann", 1), (MAIN, "amy", 2),
                               (B, "bea", 3), (B, "ben", 4))
    for desk in (amy, ben):  # staff consoles that watch the floor
        assert desk.answer("watch") == "success watch"
    read_all(*a.observers(), *b.observers(), amy, ben)

    assert clean_reply(ann, "away") == "success away"
    assert [amy.recv(), a.watcher.recv()] == ["away 1", "away 1"]
    assert clean_reply(bea, "away") == "success away"
    quiet_until(ben.client, "away 3")
    quiet_until(b.watcher, "away 3")
    assert watching(connect, B, "display")[1] == ["waiting 0", "tables 5", "away 3"]
    assert watching(connect, MAIN, "staff")[1] == ["away 1"]
    assert clean_reply(ann, "back") == "success back"
    assert [amy.recv(), a.watcher.recv()] == ["back 1", "back 1"]
    assert clean_reply(bea, "back") == "success back"
    quiet_until(ben.client, "back 3")
    quiet_until(b.watcher, "back 3")
    # Seed displays see nothing of it at either site; the watchers nothing of the other's.
    heard_nothing(*a.observers(), *b.observers(), amy, ben)
