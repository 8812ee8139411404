"""One load client process's share of the load: the Plan the coordinator (bench/run.py)
hands it, and the Records of when each frame arrived that it hands back (bench/load.py
runs the share; bench/waits.py joins the records into the waits a person feels)."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

CLICKERS = ("kind", "person", "storm")  # the staff clients of bench/clickers.py


@dataclass
class Plan:
    """One client process's share of the load."""

    base: str
    staff: list[tuple[int, str]]  # (table, token): staff sT sits at table T
    staff_total: int
    displays: list[int]  # display numbers, unique across processes
    kiosks: list[int]
    kiosk_total: int
    rate: float  # tickets per second, all kiosks together
    duration: float  # warm-up + measured seconds of kiosk schedule
    tag: str
    deflate: bool = False
    lean: bool = True
    stalled: int = 0  # extra displays that stop reading after the handshake
    quiet: float = 1.0
    drain_max: float = 20.0
    clicker: str = "kind"  # one of CLICKERS
    warmup: float = 0.0  # the measured window is [start + warmup, start + duration)
    watch: bool = False  # displays send `watch` (the opt-in `waiting N`, `tables N`)
    since: bool = False  # displays and staff open with `?since=`: `mark N` after each run

    def screen(self, path: str) -> str:
        """A display's or console's path, opted in to `mark N` when asked (issue 27)."""
        return path + "?since=" if self.since else path


@dataclass
class Records:
    sent: dict[str, float] = field(default_factory=dict)  # ticket name -> kiosk `new` sent
    created: list[str] = field(default_factory=list)  # names answered `success new`
    replied: list[float] = field(default_factory=list)  # when each `success new` arrived
    staff_new: list[tuple[int, str, float]] = field(default_factory=list)
    # (table, ticket id, arrival) of each staff's `claimed {...}` broadcast
    staff_claimed: list[tuple[int, int, float]] = field(default_factory=list)
    # step name -> (command sent, reply - sent) of each answered staff command
    replies: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    won_sent: dict[int, float] = field(default_factory=dict)  # ticket -> winning accept sent
    completed_sent: dict[int, float] = field(default_factory=dict)  # ticket -> `complete` sent
    accepts: int = 0  # `accept` commands sent
    unanswered: int = 0  # staff commands left without a reply at the end
    claimed_at: dict[int, float] = field(default_factory=dict)  # `success claimed` received
    display_who: array = field(default_factory=lambda: array("i"))
    display_ids: array = field(default_factory=lambda: array("i"))
    display_at: array = field(default_factory=lambda: array("d"))
    # (display, ticket id, arrival) of each display's `complete T`
    display_done: list[tuple[int, int, float]] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)  # broadcast frames by role and word
    window: tuple[float, float] = (0.0, 0.0)  # the measured window, client clock
    in_window: int = 0  # broadcast frames that arrived inside the window
    errors: list[str] = field(default_factory=list)
    lost_races: int = 0  # refused `accept`s a race is expected to produce
    last_frame: float = 0.0
    lag: float = 0.0  # worst lateness of a kiosk against its schedule
    cpu: float = 0.0
    wall: float = 0.0

    def count(self, key: str, t: float) -> None:
        """One broadcast frame arrived at `t`."""
        self.frames[key] = self.frames.get(key, 0) + 1
        if self.window[0] <= t < self.window[1]:
            self.in_window += 1

    def reply(self, step: str, sent: float, t: float) -> None:
        self.replies.setdefault(step, []).append((sent, t - sent))
