"""The drill's clients: staff consoles, displays and kiosks that reconnect like the pages
do, keep the view their messages describe (tests.kit.scale.Screen) and count what the drill
reports: replies missing or doubled, claims, acknowledged tickets."""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import websocket

from tests.kit.client import Client
from tests.kit.scale import Screen

REPLY_WAIT = 30.0  # a command unanswered this long, on an open connection, has no reply
# (a SIGSTOPped worker answers 10 s late: late, not missing)


@dataclass
class Tally:
    """What every client saw, per fault (the drill's current phase)."""

    phase: str = "warm-up"
    no_reply: Counter = field(default_factory=Counter)
    two_replies: Counter = field(default_factory=Counter)
    cut: Counter = field(default_factory=Counter)  # commands whose connection dropped first
    claims: Counter = field(default_factory=Counter)  # ticket id -> `success claimed` seen
    # ticket id -> email, name, phase
    acknowledged: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    arrivals: dict[int, dict[int, float]] = field(default_factory=dict)  # ticket -> actor -> when
    lock: threading.Lock = field(default_factory=threading.Lock)


class Actor(threading.Thread):
    """One websocket client with a home host; reconnects with backoff (0.2 s doubling to
    2 s) whenever its connection ends, and rebuilds its view from the greeting."""

    path = "/ws/display"

    def __init__(self, number: int, port: int, tally: Tally, stop: threading.Event,
                 paused: threading.Event) -> None:
        super().__init__(daemon=True)
        self.number, self.port, self.tally = number, port, tally
        self.stop, self.paused = stop, paused
        self.screen: Screen | None = None
        self.pending: tuple[str, float] | None = None
        self.rng = random.Random(number)

    @property
    def connected(self) -> bool:
        return self.screen is not None

    def run(self) -> None:
        backoff = 0.2
        while not self.stop.is_set():
            try:
                self.screen = Screen(Client(f"ws://127.0.0.1:{self.port}{self.path}"))
                self.screen.client.ws.settimeout(0.1)
                backoff = 0.2
                self.joined()
                while not self.stop.is_set():
                    self.step()
            except (OSError, websocket.WebSocketException):
                pass
            self.dropped()
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    def dropped(self) -> None:
        if self.pending is not None:
            with self.tally.lock:
                self.tally.cut[self.tally.phase] += 1
        self.pending = None
        if self.screen is not None:
            self.screen.client.close()
        self.screen = None

    def joined(self) -> None:
        pass

    def act(self) -> None:
        pass

    def step(self) -> None:
        """Read what arrived (0.1 s at most), then maybe send one command."""
        try:
            message = self.screen.client.ws.recv()  # type: ignore[union-attr]
        except websocket.WebSocketTimeoutException:
            message = None
        if isinstance(message, str):
            self.heard(message)
        if self.pending is not None and time.monotonic() - self.pending[1] > REPLY_WAIT:
            with self.tally.lock:
                self.tally.no_reply[self.tally.phase] += 1
            self.pending = None
        if self.pending is None and not self.paused.is_set():
            self.act()

    def heard(self, message: str) -> None:
        assert self.screen is not None
        if message.startswith(("success ", "error ")):
            if self.pending is None:
                with self.tally.lock:
                    self.tally.two_replies[self.tally.phase] += 1
            self.pending = None
            self.replied(message)
            return
        self.screen.log.append(message)
        del self.screen.log[:-20]
        self.screen._apply(message)

    def replied(self, message: str) -> None:
        pass

    def send(self, command: str) -> None:
        self.pending = (command.split(" ", 1)[0], time.monotonic())
        self.screen.client.send(command)  # type: ignore[union-attr]


class Display(Actor):
    path = "/ws/display"


class Unbound(Actor):
    path = "/ws/staff"


class Staff(Actor):
    """Sits at table `number`, accepts a waiting ticket now and then (never a probe, which
    must stay waiting to reach everyone) and completes it a moment later."""

    path = "/ws/staff"

    def __init__(self, number: int, port: int, tally: Tally, stop: threading.Event,
                 paused: threading.Event, token: str) -> None:
        super().__init__(number, port, tally, stop, paused)
        self.token = token
        self.bound = False
        self.bound_at: float | None = None  # since when bound without a break (missed `new`)
        self.serving: int | None = None
        self.next_move = 0.0

    def joined(self) -> None:
        self.bound, self.bound_at = False, None
        self.send(f"pick {self.number} {self.token}")

    def dropped(self) -> None:
        super().dropped()
        self.bound, self.bound_at = False, None

    def heard(self, message: str) -> None:
        super().heard(message)
        if message.startswith("new "):
            ticket = json.loads(message[4:])
            with self.tally.lock:
                self.tally.arrivals.setdefault(ticket["id"], {})[self.number] = time.monotonic()

    def replied(self, message: str) -> None:
        if message.startswith("success pick"):
            self.bound = True
            self.bound_at = self.bound_at or time.monotonic()
        elif message.startswith("error pick"):
            self.next_move = time.monotonic() + 0.5  # try again (the database may be away)
        elif message.startswith("success claimed "):
            self.serving = int(message.rsplit(" ", 1)[1])
            with self.tally.lock:
                self.tally.claims[self.serving] += 1
        elif message.startswith(("success complete", "error complete")):
            self.serving = None if message.startswith("success") else self.serving
        self.next_move = max(self.next_move, time.monotonic() + self.rng.uniform(0.3, 1.2))

    def act(self) -> None:
        if time.monotonic() < self.next_move:
            return
        if not self.bound:
            self.send(f"pick {self.number} {self.token}")
        elif self.serving is not None:
            self.send(f"complete {self.serving}")
        else:
            waiting = [t for t in sorted(self.screen.waiting.values(), key=lambda t: t["id"])  # type: ignore[union-attr]
                       if not t["name"].startswith("Probe")][:3]
            if waiting:  # the oldest few: colleagues race for the same tickets
                self.send(f"accept {self.rng.choice(waiting)['id']}")
            else:
                self.next_move = time.monotonic() + 0.3


class Kiosk(Actor):
    """Signs visitors in at `rate` per second; `probe()` asks for a probe ticket now."""

    path = "/ws/kiosk"

    def __init__(self, number: int, port: int, tally: Tally, stop: threading.Event,
                 paused: threading.Event, rate: float) -> None:
        super().__init__(number, port, tally, stop, paused)
        self.every = 1.0 / rate
        self.next_new = 0.0
        self.count = 0
        self.probes: list[str] = []  # probe commands to send first
        self.probe_ids: list[tuple[int, float]] = []  # (ticket, when acknowledged)

    def act(self) -> None:
        if self.probes:
            self.send(self.probes.pop(0))
            return
        if time.monotonic() < self.next_new:
            return
        self.next_new = time.monotonic() + self.every
        self.count += 1
        self.send(f"new k{self.number}-{self.count}@drill.example "
                  f"Visitor {self.number} {self.count}")

    def replied(self, message: str) -> None:
        if not message.startswith("success new "):
            return
        ticket = json.loads(message.removeprefix("success new "))
        with self.tally.lock:
            self.tally.acknowledged[ticket["id"]] = (ticket["email"], ticket["name"],
                                                     self.tally.phase)
        if ticket["name"].startswith("Probe"):
            self.probe_ids.append((ticket["id"], time.monotonic()))
