"""One load client process's share of the load: the Plan the coordinator (bench/run.py)
hands it, and the Records of when each frame arrived that it hands back (bench/load.py
runs the share)."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field


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
    duration: float
    tag: str
    deflate: bool = False
    lean: bool = True
    stalled: int = 0  # extra displays that stop reading after the handshake
    quiet: float = 1.0
    drain_max: float = 20.0
    race: bool = False  # every staff connection accepts every `new` (see race_handler)


@dataclass
class Records:
    sent: dict[str, float] = field(default_factory=dict)  # ticket name -> kiosk `new` sent
    created: list[str] = field(default_factory=list)  # names answered `success new`
    replied: list[float] = field(default_factory=list)  # when each `success new` arrived
    staff_new: list[tuple[int, str, float]] = field(default_factory=list)
    claimed_at: dict[int, float] = field(default_factory=dict)  # `success claimed` received
    display_who: array = field(default_factory=lambda: array("i"))
    display_ids: array = field(default_factory=lambda: array("i"))
    display_at: array = field(default_factory=lambda: array("d"))
    frames: dict[str, int] = field(default_factory=dict)  # broadcast frames by role and word
    errors: list[str] = field(default_factory=list)
    lost_races: int = 0  # `error accept ...` replies a race is expected to produce
    last_frame: float = 0.0
    lag: float = 0.0  # worst lateness of a kiosk against its schedule
    cpu: float = 0.0
    wall: float = 0.0

    def count(self, key: str) -> None:
        self.frames[key] = self.frames.get(key, 0) + 1
