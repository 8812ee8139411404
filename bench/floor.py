"""The floor: a bare Flask-Sock + gevent relay that routes like tablequeue, with no database
and no rules. `gunicorn bench.floor:app -c gunicorn.conf.py` serves it.

It is what the stack gives for free: every broadcast is handed to each connection's
`ws.send(str)`, which re-encodes the frame through wsproto per receiver. Same routes, same
message bytes, same Flask-Sock options as the app; a ticket lives in a dict so `claimed`
can carry its JSON. Staff at table T is named `sT` (the bench seeds the app the same way)."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from flask_sock import Sock

from tablequeue.config import load

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

    def send(self, message: str) -> None:
        with self.lock:
            try:
                self.ws.send(message)  # type: ignore[attr-defined]
            except Exception:
                pass  # the receive loop sees the close


staff: set[Peer] = set()
displays: set[Peer] = set()
tickets: dict[int, dict[str, object]] = {}
taken: set[int] = set()
ids = itertools.count(1)


def fan_out(peers: set[Peer], message: str) -> None:
    for peer in list(peers):
        peer.send(message)


def ticket_json(ticket: dict[str, object], redact: bool = False) -> str:
    shown = {**ticket, "email": ""} if redact else ticket
    return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)


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


def on_staff(peer: Peer, word: str, rest: str) -> None:
    if word == "pick":
        table = int(rest.split(" ")[0])
        peer.table = table
        taken.add(table)
        peer.send(f"success pick {table}")
        fan_out(displays, f"pick {table}")
    elif word == "accept":
        ticket = tickets.get(int(rest))
        if ticket is None or ticket["staff"]:  # the race's losers: one dict lookup
            peer.send("error accept this ticket is now claimed")
            return
        ticket["staff"] = f"s{peer.table}"
        peer.send(f"success claimed {ticket['id']}")
        fan_out({p for p in staff if p.table is not None}, f"claimed {ticket_json(ticket)}")
        fan_out(displays, f"claimed {ticket['staff']} {peer.table} {ticket_json(ticket, True)}")
    elif word == "complete":
        tickets.pop(int(rest), None)
        peer.send(f"success complete {rest}")
        fan_out(displays, f"complete {peer.table}")


def serve(peer: Peer, members: set[Peer], handle: object) -> None:
    members.add(peer)
    try:
        while True:
            word, _, rest = peer.ws.receive().strip().partition(" ")  # type: ignore[attr-defined]
            handle(peer, word, rest)  # type: ignore[operator]
    finally:
        members.discard(peer)


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
    serve(peer, displays, lambda *_: None)
