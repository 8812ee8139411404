"""Privacy: over a whole scripted day, no email reaches a display or a console that is not
bound to a staff member; old visitor data is purged by the CLI; one visitor can be erased."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.kit.client import Client
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer


def _watch(observers: dict[str, Client], seen: dict[str, list[str]], quiet: float = 0.02) -> None:
    """Collect what each observer has received so far (the last call waits for stragglers)."""
    for name, client in observers.items():
        seen.setdefault(name, []).extend(client.drain(quiet))


def _reply(client: Client, command: str, also: list[str]) -> str:
    """Send a command; its reply (success/error), keeping the broadcasts read meanwhile."""
    client.send(command)
    for _ in range(1000):
        message = client.recv()
        if message.startswith(("success ", "error ")):
            return message
        also.append(message)
    raise AssertionError(f"no reply to {command}")


def _ticket(reply: str) -> dict[str, object]:
    assert reply.startswith("success new "), reply
    return json.loads(reply.removeprefix("success new "))


def test_no_email_reaches_a_display_or_unbound_console_over_a_day(fresh: LiveServer,
                                                                  connect) -> None:
    rng = random.Random(7)
    tokens = {name: fresh.add_staff(name) for name in ("ada", "bob", "cy")}
    observers = {"display": connect("/ws/display"), "unbound": connect("/ws/staff")}
    seen: dict[str, list[str]] = {}
    consoles = {name: connect("/ws/staff") for name in tokens}
    for table, (name, console) in enumerate(consoles.items(), start=1):
        console.drain(0.2)
        assert console.ask(f"pick {table} {tokens[name]}") == f"success pick {table}"
    kiosks = [connect("/ws/kiosk") for _ in range(3)]
    # A console bound by its login cookie, later logged out: from then on it is unbound.
    web = WebClient(fresh.port)
    assert web.login("cy").status == 302
    cookie_console = connect("/ws/staff",
                             ["Cookie: " + "; ".join(f"{k}={v}" for k, v in web.jar.items())])
    emails = [f"visitor{n}@example.org" for n in range(25)]
    served: dict[str, int | None] = {name: None for name in tokens}
    bound_seen: list[str] = []
    for hour in range(60):
        kiosk = kiosks[hour % 3]
        email = rng.choice(emails)
        kiosk.ask(f"query {email.upper()}")
        ticket = _ticket(kiosk.ask(f"new {email} Visitor {hour}"))
        name = rng.choice(list(tokens))
        console = consoles[name]
        if served[name] is not None:
            word = rng.choice(["complete", "cancel"])
            done = _reply(console, f"{word} {served[name]}", bound_seen)
            assert done == f"success {word} {served[name]}"
            served[name] = None
        reply = _reply(console, f"accept {ticket['id']}", bound_seen)
        if reply == f"success claimed {ticket['id']}":
            served[name] = int(ticket["id"])
        if hour == 20:  # a display switched on mid-day replays who is being served
            observers["late display"] = connect("/ws/display")
        if hour == 30:  # bob moves table while serving, then leaves and comes back
            for command in (f"pick 7 {tokens['bob']}", "unpick", f"pick 2 {tokens['bob']}"):
                assert _reply(consoles["bob"], command, bound_seen).startswith("success")
        if hour == 40:
            token = web.csrf_token("/staff/")
            assert web.post("/logout", {"csrf_token": token}).status == 302
            cookie_console.drain(1.0)  # what it got while bound is allowed to carry emails
            observers["logged out"] = cookie_console
        _watch(observers, seen)
    _watch(observers, seen, quiet=0.5)
    frames = {name: messages for name, messages in seen.items()}
    assert any(m.startswith("claimed ") for m in frames["display"]), "the day served no one"
    assert any(m.startswith("claimed ") for m in frames["late display"])
    for name, messages in frames.items():
        leaks = [m for m in messages if "@" in m or any(e in m.lower() for e in emails)]
        assert leaks == [], f"{name} received emails: {leaks[:3]}"
    # The same day did carry emails to bound consoles: the check above is not vacuous.
    assert any("@example.org" in m for m in bound_seen)


def _age(server: LiveServer, days: int, where: str) -> None:
    past = datetime.now(UTC) - timedelta(days=days)
    engine = server.engine()
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE tickets SET created_at = :t, ended_at = CASE WHEN "
                             f"ended_at IS NULL THEN NULL ELSE :t END WHERE {where}"), {"t": past})
        conn.execute(sa.text("UPDATE visitors SET updated_at = :t WHERE email IN "
                             f"(SELECT LOWER(email) FROM tickets WHERE {where})"), {"t": past})
    engine.dispose()


def _count(server: LiveServer, sql: str) -> int:
    engine = server.engine()
    with engine.connect() as conn:
        value = int(conn.execute(sa.text(sql)).scalar_one())
    engine.dispose()
    return value


def test_purge_deletes_old_finished_visits_only(fresh: LiveServer, connect) -> None:
    token = fresh.add_staff("ada")
    staff, kiosk = connect("/ws/staff"), connect("/ws/kiosk")
    staff.drain(0.2)
    assert staff.ask(f"pick 1 {token}") == "success pick 1"
    old = _ticket(kiosk.ask("new old@example.org Old Timer"))
    waiting = _ticket(kiosk.ask("new patient@example.org Still Waiting"))
    recent = _ticket(kiosk.ask("new recent@example.org Came Today"))
    for ticket in (old, recent):
        staff.drain(0.1)
        assert staff.ask(f"accept {ticket['id']}") == f"success claimed {ticket['id']}"
        staff.drain(0.1)
        assert staff.ask(f"complete {ticket['id']}") == f"success complete {ticket['id']}"
    _age(fresh, 40, f"id IN ({old['id']}, {waiting['id']})")
    out = fresh.flask("visitors", "purge", "--days", "30")
    assert "purged 1 tickets and 1 visitors" in out
    assert _count(fresh, "SELECT COUNT(*) FROM tickets") == 2  # the waiting one stays
    assert kiosk.ask("query old@example.org") == "error query visitor email does not exist"
    assert kiosk.ask("query patient@example.org") == "success query Still Waiting"
    assert kiosk.ask("query recent@example.org") == "success query Came Today"


def test_one_visitor_can_be_erased(fresh: LiveServer, connect) -> None:
    kiosk = connect("/ws/kiosk")
    _ticket(kiosk.ask("new Erase.Me@example.org Erase Me"))
    _ticket(kiosk.ask("new keep@example.org Keep Me"))
    refused = _run_failing(fresh, "visitors", "delete", "erase.me@example.org")
    assert "waiting or in service" in refused
    engine = fresh.engine()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE tickets SET status = 'cancelled', ended_at = created_at, "
                             "staff_id = NULL WHERE email = 'Erase.Me@example.org'"))
    engine.dispose()
    assert "deleted the visitor and 1 tickets" in fresh.flask("visitors", "delete",
                                                              "ERASE.ME@example.org")
    assert kiosk.ask("query erase.me@example.org") == "error query visitor email does not exist"
    assert _count(fresh, "SELECT COUNT(*) FROM tickets "
                         "WHERE LOWER(email) = 'erase.me@example.org'") == 0
    assert kiosk.ask("query keep@example.org") == "success query Keep Me"


def _run_failing(server: LiveServer, *args: str) -> str:
    import subprocess
    import sys

    from tests.kit.live import ROOT

    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                          env=server.env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    return done.stderr
