"""Every wait a person feels, joined from the client processes' records (bench/load.py,
bench/clickers.py), and the verdict of a run.

| step | from → to (client clock) |
|---|---|
| kiosk→staff | kiosk `new` sent → each bound staff's `new {…}` |
| kiosk reply | kiosk `new` sent → its `success new` |
| accept→reply win / lose | each staff `accept` sent → its own reply, by outcome |
| accept→staff | winning `accept` sent → each staff's `claimed {…}` |
| accept→display | winning `accept` sent → each display's `claimed STAFF T {…}` |
| complete→reply | `complete` sent → its reply |
| complete→display | `complete` sent → each display's `complete T` |

Latencies count for commands sent from the end of the warm-up on; losses and unanswered
commands count over the whole run. Deliveries count only broadcast frames arriving inside
the measured window, against the offered rate: rate × (2·staff + 2·displays), plus
2·displays with `--watch`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from bench.load_share import Records

STEPS = ("kiosk→staff", "kiosk reply", "accept→reply win", "accept→reply lose",
         "accept→staff", "accept→display", "complete→reply", "complete→display")
P99_LIMIT_MS = 100.0
SHARE_FLOOR = 0.95


def pct(values: list[float], q: float) -> float:
    """The q-quantile in ms (nearest rank); NaN with no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000


@dataclass
class Waits:
    p50: dict[str, float]  # ms, by step
    p99: dict[str, float]
    samples: dict[str, int]
    lost: dict[str, int]  # expected deliveries that never came, by kind
    unanswered: int  # staff and kiosk commands without a reply
    errors: int
    tickets: int
    accepts: int
    in_window: int  # broadcast frames that arrived inside the measured window
    offered_per_s: float  # broadcast frames the load asks for, per second
    window: float  # seconds

    @property
    def delivered_per_s(self) -> float:
        return self.in_window / max(self.window, 1e-9)

    @property
    def delivered_share(self) -> float:
        return self.delivered_per_s / max(self.offered_per_s, 1e-9)

    @property
    def failed(self) -> str | None:
        """The first rule broken, in words; None when the run passes."""
        for step in STEPS:
            if self.p99[step] > P99_LIMIT_MS:
                return f"{step} p99 {self.p99[step]:.0f} ms"
        if sum(self.lost.values()):
            return "lost " + ", ".join(f"{k} {v}" for k, v in self.lost.items() if v)
        if self.unanswered:
            return f"unanswered {self.unanswered}"
        if self.errors:
            return f"errors {self.errors}"
        if self.delivered_share < SHARE_FLOOR:
            return f"delivered {self.delivered_share:.1%} of offered"
        return None

    def steps(self) -> str:
        return "  ".join(f"{s} {self.p50[s]:.1f}/{self.p99[s]:.1f}" for s in STEPS
                         if self.samples[s])


def _delays(start: dict, arrivals: Iterable[tuple[object, object, float]], measured: float,
            seen: set[tuple[object, object]]) -> list[float]:
    """Each (receiver, key, t) whose key started at `start[key]`: first arrival per pair;
    latencies only for keys started from `measured` on."""
    out = []
    for who, key, t in arrivals:
        if key in start and (who, key) not in seen:
            seen.add((who, key))
            if start[key] >= measured:
                out.append(t - start[key])
    return out


def _merge(records: list[Records], name: str) -> dict:
    return {k: v for r in records for k, v in getattr(r, name).items()}


def join(records: list[Records], staff: int, displays: int, measured: float,
         ) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Latencies by step, and losses by kind."""
    sent, won, done = (_merge(records, n) for n in ("sent", "won_sent", "completed_sent"))
    created = {name for r in records for name in r.created}
    started = {name: sent[name] for name in created}
    seen: dict[str, set[tuple[object, object]]] = {k: set() for k in ("n", "s", "d", "c")}
    lat = {
        "kiosk→staff": _delays(started, (x for r in records for x in r.staff_new), measured,
                               seen["n"]),
        "kiosk reply": [t - sent[n] for r in records for n, t in zip(r.created, r.replied,
                                                                     strict=True)
                        if sent[n] >= measured],
        "accept→staff": _delays(won, (x for r in records for x in r.staff_claimed), measured,
                                seen["s"]),
        "accept→display": _delays(won, (x for r in records for x in zip(
            r.display_who, r.display_ids, r.display_at, strict=True)), measured, seen["d"]),
        "complete→display": _delays(done, (x for r in records for x in r.display_done),
                                    measured, seen["c"]),
    }
    for step in ("accept→reply win", "accept→reply lose", "complete→reply"):
        lat[step] = [d for r in records for s, d in r.replies.get(step, []) if s >= measured]
    lost = {"staff new": len(created) * staff - len(seen["n"]),
            "staff claimed": len(won) * staff - len(seen["s"]),
            "display claimed": len(created) * displays - len(seen["d"]),
            "display complete": len(won) * displays - len(seen["c"])}
    return lat, lost


def waits(records: list[Records], staff: int, displays: int, rate: float, warmup: float,
          duration: float, watch: bool = False, since: bool = False) -> Waits:
    first = min((t for r in records for t in r.sent.values()), default=0.0)
    lat, lost = join(records, staff, displays, first + warmup)
    created = sum(len(r.created) for r in records)
    kiosk_errors = sum(1 for r in records for e in r.errors if e.startswith("error new"))
    sent = sum(len(r.sent) for r in records)
    return Waits(
        p50={s: pct(lat[s], 0.50) for s in STEPS}, p99={s: pct(lat[s], 0.99) for s in STEPS},
        samples={s: len(lat[s]) for s in STEPS}, lost=lost,
        unanswered=sum(r.unanswered for r in records) + max(0, sent - created - kiosk_errors),
        errors=sum(len(r.errors) for r in records), tickets=created,
        accepts=sum(r.accepts for r in records),
        in_window=sum(r.in_window for r in records),
        # --since: a `mark` after each run a screen heard (the offered figure's frames).
        offered_per_s=rate * (2 * staff + 2 * displays + (2 * displays if watch else 0))
        * (2 if since else 1),
        window=duration)
