"""The floor: a bare Flask-Sock + gevent relay that routes like tablequeue, with no database
and no rules. `gunicorn bench.floor:app -c gunicorn.conf.py` serves it.

It is what the stack gives for free: every broadcast is handed to each connection's
`ws.send(str)`, which re-encodes the frame through wsproto per receiver. Same routes, same
message bytes, same Flask-Sock options as the app; a ticket lives in a dict so `claimed`
can carry its JSON. Staff at table T is named `sT` (the bench seeds the app the same way).

It does the protocol work the bench's clients ask of the app, in the app's order and with
its error bytes (tablequeue.protocol): `accept` refuses a ticket that does not exist, one
being served (one set lookup), one finished, then a staff member already serving one;
`complete` refuses no table, no ticket, finished, then not the owner. A display's `watch`
is answered as the app does (`success watch`, `waiting N`, `tables N`, then `waiting N`
after every ticket created or claimed)."""

from __future__ import annotations

import itertools
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from flask_sock import Sock

from tablequeue.config import load
from tablequeue.protocol import Refusal, error, unknown

app = Flask(__name__)
app.config["SOCK_SERVER_OPTIONS"] = load(Path("/nonexistent"), {"SECRET_KEY": "x"})[
    "SOCK_SERVER_OPTIONS"
]
sock = Sock(app)

EPOCH = "1970-01-01T00:00:00Z"


class Peer:
    def __init__(self, ws: object) -> None:
        self.ws = ws
        self.lock = threading.Lock()
        self.table: int | None = None
        self.serving: int | None = None  # the ticket this staff member is serving

    def send(self, message: str) -> None:
        with self.lock:
            try:
                self.ws.send(message)  # type: ignore[attr-defined]
            except Exception:
                pass  # the receive loop sees the close


staff: set[Peer] = set()
displays: set[Peer] = set()
watchers: set[Peer] = set()  # displays that sent `watch`
tickets: dict[int, dict[str, object]] = {}
serving: set[int] = set()  # tickets claimed and not finished
finished: set[int] = set()
taken: set[int] = set()
ids = itertools.count(1)
TABLES = int(os.environ.get("TABLE_COUNT", "10"))


def fan_out(peers: set[Peer], message: str) -> None:
    for peer in list(peers):
        peer.send(message)


def waiting() -> str:
    return f"waiting {len(tickets) - len(serving) - len(finished)}"


def ticket_json(ticket: dict[str, object], redact: bool = False) -> str:
    shown = {**ticket, "email": ""} if redact else ticket
    return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


def ticket_of(rest: str) -> dict[str, object] | None:
    return tickets.get(int(rest)) if rest.isdigit() else None


def on_new(peer: Peer, rest: str) -> None:
    email, _, name = rest.partition(" ")
    ticket = {
        "id": next(ids), "email": email, "name": name, "staff": "",
        "start": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "end": EPOCH,
    }
    tickets[ticket["id"]] = ticket  # type: ignore[index]
    body = ticket_json(ticket)
    peer.send(f"success new {body}")
    fan_out({p for p in staff if p.table is not None}, f"new {body}")
    fan_out(watchers, waiting())


def accept_refusal(peer: Peer, ticket: dict[str, object] | None) -> Refusal | None:
    """The app's order: table, ticket, being served (the race's losers: one set lookup),
    finished, already serving another."""
    if peer.table is None:
        return Refusal.NO_TABLE
    if ticket is None:
        return Refusal.NO_TICKET
    if ticket["id"] in serving:
        return Refusal.CLAIMED
    if ticket["id"] in finished:
        return Refusal.FINISHED
    return Refusal.BUSY if peer.serving is not None else None


def on_accept(peer: Peer, rest: str) -> None:
    ticket = ticket_of(rest)
    refusal = accept_refusal(peer, ticket)
    if refusal is not None or ticket is None:
        peer.send(error("accept", refusal or Refusal.NO_TICKET))
        return
    ticket["staff"] = f"s{peer.table}"
    serving.add(ticket["id"])  # type: ignore[arg-type]
    peer.serving = ticket["id"]  # type: ignore[assignment]
    peer.send(f"success claimed {ticket['id']}")
    fan_out({p for p in staff if p.table is not None}, f"claimed {ticket_json(ticket)}")
    fan_out(displays, f"claimed {ticket['staff']} {peer.table} {ticket_json(ticket, True)}")
    fan_out(watchers, waiting())


def complete_refusal(peer: Peer, ticket: dict[str, object] | None) -> Refusal | None:
    """The app's order: table, ticket, finished, not the owner (also a waiting ticket)."""
    if peer.table is None:
        return Refusal.NO_TABLE
    if ticket is None:
        return Refusal.NO_TICKET
    if ticket["id"] in finished:
        return Refusal.FINISHED
    return Refusal.NOT_OWNER if ticket["staff"] != f"s{peer.table}" else None


def on_complete(peer: Peer, rest: str) -> None:
    ticket = ticket_of(rest)
    refusal = complete_refusal(peer, ticket)
    if refusal is not None or ticket is None:
        peer.send(error("complete", refusal or Refusal.NO_TICKET))
        return
    serving.discard(ticket["id"])
    finished.add(ticket["id"])  # type: ignore[arg-type]
    peer.serving = None
    peer.send(f"success complete {ticket['id']}")
    fan_out(displays, f"complete {peer.table}")


def on_staff(peer: Peer, word: str, rest: str) -> None:
    if word == "pick":
        table = int(rest.split(" ")[0])
        peer.table = table
        taken.add(table)
        peer.send(f"success pick {table}")
        fan_out(displays, f"pick {table}")
    elif word == "accept":
        on_accept(peer, rest)
    elif word == "complete":
        on_complete(peer, rest)
    else:
        peer.send(unknown(word))


def on_display(peer: Peer, word: str, rest: str) -> None:
    if word != "watch":
        peer.send(unknown(word))
        return
    watchers.add(peer)
    peer.send("success watch")
    peer.send(waiting())
    peer.send(f"tables {TABLES}")


def serve(peer: Peer, members: set[Peer], handle: object) -> None:
    members.add(peer)
    try:
        while True:
            word, _, rest = peer.ws.receive().strip().partition(" ")  # type: ignore[attr-defined]
            handle(peer, word, rest)  # type: ignore[operator]
    finally:
        members.discard(peer)
        watchers.discard(peer)


@sock.route("/ws/staff")
def staff_socket(ws: object) -> None:
    peer = Peer(ws)
    peer.send(" ".join(["taken", *map(str, sorted(taken))]))
    serve(peer, staff, on_staff)


@sock.route("/ws/kiosk")
def kiosk_socket(ws: object) -> None:
    serve(Peer(ws), set(), lambda peer, word, rest: on_new(peer, rest))


@sock.route("/ws/display")
def display_socket(ws: object) -> None:
    peer = Peer(ws)
    for table in sorted(taken):
        peer.send(f"pick {table}")
    serve(peer, displays, on_display)
