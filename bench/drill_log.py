"""The drill's issue 27 faults (bench/drill.py runs them as 8 and 9) and the column they are
judged by, `missed new`: the `new` deliveries a staff console bound since before the fault,
and still bound, never got, counted over every ticket acknowledged during the fault (target 0).

- host SIGKILL between commit and publish: host b restarted with the test-only
  FAULT_HOLD_PUBLISH_SECONDS, a kiosk of the drill's own signs one visitor in there, and
  once the ticket is in the database (its publish still held) the whole host is SIGKILLed:
  no arbiter left for a child_exit resync, nothing sent to Redis. Host a's consoles can
  learn of the ticket only from the database. Host b is then started again without the hold.
- Redis restart while staff are cut off: Redis stopped; through host b the drill signs in
  24 visitors and claims each at once from a console of its own (never a load console);
  Redis started. Before issue 27 a console on the other host got a state resync at
  reconnect, where a ticket already claimed does not appear: it missed all 24 `new`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tests.kit.client import Client

if TYPE_CHECKING:
    from bench.drill import Drill

HOLD = 3  # seconds host b holds each publish after its commit (FAULT_HOLD_PUBLISH_SECONDS)
CUT_OFF_TICKETS = 24  # as many `new` as the chaos run before issue 27 lost


def missed_new(d: Drill, phase: str, started: float) -> int:
    """`new` deliveries missed, per (ticket acknowledged in `phase`, staff console bound
    since before `started` and still bound)."""
    with d.tally.lock:
        tickets = [i for i, (_e, _n, p) in d.tally.acknowledged.items() if p == phase]
        steady = [s.number for s in d.staff if s.bound_at is not None and s.bound_at < started]
        return sum(1 for t in tickets for s in steady if s not in d.tally.arrivals.get(t, {}))


def _committed(d: Drill, email: str, within: float) -> int | None:
    """The id of the ticket of `email` once it is in the database (read from outside)."""
    engine = d.engine()
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                found = conn.execute(sa.text("SELECT id FROM tickets WHERE email = :e"),
                                     {"e": email}).scalar()
            if found is not None:
                return int(found)
            time.sleep(0.02)
        return None
    finally:
        engine.dispose()


def _acknowledged(d: Drill, ticket: int, email: str, name: str) -> None:
    with d.tally.lock:
        d.tally.acknowledged[ticket] = (email, name, d.tally.phase)


def held_kill(d: Drill) -> float:
    a, b = d.hosts
    b.stop()
    b.env["FAULT_HOLD_PUBLISH_SECONDS"] = str(HOLD)
    b.start()
    at_b = [s for s in d.staff if s.port == b.port]
    deadline = time.monotonic() + 20  # b's consoles back and bound (their picks held too)
    while not all(s.bound for s in at_b) and time.monotonic() < deadline:
        time.sleep(0.1)
    email, name = f"held-{int(time.time())}@drill.example", "Held Visitor"
    kiosk = Client(f"ws://127.0.0.1:{b.port}/ws/kiosk")
    sent = time.monotonic()
    kiosk.send(f"new {email} {name}")
    ticket = _committed(d, email, HOLD)
    b.kill()
    killed = time.monotonic()
    kiosk.close()
    del b.env["FAULT_HOLD_PUBLISH_SECONDS"]
    if ticket is None:
        d.notes.append("held kill: the ticket was not committed in time; nothing measured")
    else:
        _acknowledged(d, ticket, email, name)
        note = "inside" if killed - sent < HOLD else "AFTER (not a valid run)"
        at_a = [s.number for s in d.staff if s.port == a.port]
        time.sleep(2)
        with d.tally.lock:
            seen = d.tally.arrivals.get(ticket, {})
            heard = [seen[s] - killed for s in at_a if s in seen]
        d.notes.append(
            f"held kill: killed {killed - sent:.2f} s after the send, {note} the {HOLD} s hold;"
            f" {len(heard)} of {len(at_a)} host-a consoles heard `new` within 2 s"
            + (f", the last {max(heard):.2f} s after the kill" if heard else ""))
    time.sleep(1)
    b.start()
    return time.monotonic()


def redis_cut_off(d: Drill) -> float:
    b = d.hosts[1]
    kiosk = Client(f"ws://127.0.0.1:{b.port}/ws/kiosk")
    desk = Client(f"ws://127.0.0.1:{b.port}/ws/staff")
    try:
        desk.recv()  # taken
        picked = desk.answer(f"pick 9 {d.extra_token}")
        assert picked == "success pick 9", picked
        d.redis.stop()
        claimed = 0
        for n in range(CUT_OFF_TICKETS):
            email, name = f"cut{n}-{int(time.time())}@drill.example", f"Cut Off {n}"
            reply = kiosk.answer(f"new {email} {name}")
            if not reply.startswith("success new "):
                continue
            ticket = int(json.loads(reply.removeprefix("success new "))["id"])
            _acknowledged(d, ticket, email, name)
            if desk.answer(f"accept {ticket}") == f"success claimed {ticket}":
                claimed += 1
                desk.answer(f"complete {ticket}")
        d.redis.start()
        d.notes.append(f"Redis cut-off: {CUT_OFF_TICKETS} tickets signed in during the outage,"
                       f" {claimed} claimed at once by the drill's own console")
        desk.answer("unpick")
    finally:
        kiosk.close()
        desk.close()
    return time.monotonic()
