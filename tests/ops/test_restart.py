"""A crash loses nothing: with tickets waiting and in service, SIGKILL the whole server
(arbiter and worker) and start it again on the same database. Tokens, tables and tickets
are all still there, and every replay shows exactly what it showed before."""

from __future__ import annotations

import signal

import pytest

from tests.kit.client import Client, new_ticket
from tests.kit.live import LiveServer

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}


def snapshot(server: LiveServer, tokens: dict[str, str]) -> dict[str, list[str]]:
    """What a newly connected display, an unbound console and each re-bound console see."""
    seen: dict[str, list[str]] = {}
    opened: list[Client] = []
    try:
        display = server.connect("/ws/display")
        opened.append(display)
        seen["display"] = display.sync()
        unbound = server.connect("/ws/staff")
        opened.append(unbound)
        seen["unbound"] = unbound.sync()
        for name, (token, table) in tokens.items():
            console = server.connect("/ws/staff")
            opened.append(console)
            console.recv()  # `taken`
            assert console.answer(f"pick {table} {token}") == f"success pick {table}"
            seen[name] = console.sync()
    finally:
        for client in opened:
            client.close()
    return seen


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_restart_shows_exactly_the_same_state(fresh, sig):
    names = ["ada", "bob", "cy", "dee"]
    tokens = dict(zip(names, fresh.add_staffs(*names), strict=True))
    tables = {"ada": 4, "bob": 1, "cy": 7, "dee": 2}
    consoles = {n: fresh.connect("/ws/staff") for n in names}
    kiosk = fresh.connect("/ws/kiosk")
    try:
        for name, console in consoles.items():
            console.recv()
            assert console.answer(f"pick {tables[name]} {tokens[name]}") == (
                f"success pick {tables[name]}")
        made = [new_ticket(kiosk, f"v{i}@example.org", f"Visitor Nº{i} ✓")[0] for i in range(6)]
        for name, t in (("ada", made[1]), ("bob", made[3]), ("cy", made[4])):
            assert consoles[name].answer(f"accept {t['id']}") == f"success claimed {t['id']}"
        assert (consoles["cy"].answer(f"complete {made[4]['id']}")
                == f"success complete {made[4]['id']}")
        assert consoles["dee"].answer("unpick") == "success unpick"
        for console in consoles.values():
            console.sync()
    finally:
        for client in (*consoles.values(), kiosk):
            client.close()
    seated = {n: (tokens[n], tables[n]) for n in ("ada", "bob", "cy")}
    before = snapshot(fresh, seated)
    # Sanity: the snapshot holds what was built (waiting 0 2 5; ada and bob serving).
    assert before["display"][:3] == ["pick 1", "pick 4", "pick 7"]
    assert len(before["display"]) == 5
    assert before["unbound"] == ["taken 1 4 7"]
    assert [m.split(" ", 1)[0] for m in before["ada"]] == ["new", "new", "new", "claimed"]
    assert [m.split(" ", 1)[0] for m in before["cy"]] == ["new", "new", "new"]

    fresh.restart(sig)

    after = snapshot(fresh, seated)
    assert after == before
    # dee's token still works, and she gets her table back or any free one.
    console = fresh.connect("/ws/staff")
    try:
        assert console.recv() == "taken 1 4 7"
        assert console.answer(f"pick 2 {tokens['dee']}") == "success pick 2"
        # The state after the restart is live, not a read-only copy.
        kiosk = fresh.connect("/ws/kiosk")
        t, _ = new_ticket(kiosk, "after@example.org", "After")
        kiosk.close()
        assert console.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
        assert console.answer(f"accept {made[0]['id']}") == (
            "error accept you are already serving a ticket")
    finally:
        console.close()


def test_a_connection_cut_by_the_crash_can_reconnect_and_carry_on(fresh):
    token = fresh.add_staff("ada")
    console, kiosk = fresh.connect("/ws/staff"), fresh.connect("/ws/kiosk")
    console.recv()
    assert console.answer(f"pick 3 {token}") == "success pick 3"
    t, _ = new_ticket(kiosk, "v@example.org", "Vera")
    assert console.answer(f"accept {t['id']}") == f"success claimed {t['id']}"
    fresh.restart(signal.SIGKILL)
    assert console.close_code() in (None, 1006)  # cut, not closed politely
    console.close()
    kiosk.close()
    console = fresh.connect("/ws/staff")
    try:
        console.recv()
        assert console.answer(f"pick 3 {token}") == "success pick 3"
        assert console.recv().startswith("claimed ")
        assert console.answer(f"complete {t['id']}") == f"success complete {t['id']}"
    finally:
        console.close()
