"""One measured run: start the server, spread the connections over client processes, start
them together, join their records and reduce them to latencies, losses and rates."""

from __future__ import annotations

import math
import multiprocessing
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.launch import Seed, Server
from bench.load import worker
from bench.load_share import Plan, Records


@dataclass
class Load:
    staff: int = 20
    displays: int = 200
    kiosks: int = 5
    rate: float = 20.0
    duration: float = 10.0
    warmup: float = 1.0  # seconds of load before the measured part (fresh worker, cold caches)
    clients: int = 1
    deflate: bool = False
    lean: bool = True
    stalled: int = 0  # displays that never read (client process 0); not in the figures
    race: bool = False  # every staff member accepts every ticket (bench.load.race_handler)


@dataclass
class Result:
    target: str  # "app" or "floor"
    load: dict[str, Any]
    tickets: int
    new_p50: float  # ms, kiosk `new` sent -> each bound staff's `new {...}`
    new_p99: float
    claimed_p50: float  # ms, staff's `success claimed` -> each display's `claimed ...`
    claimed_p99: float
    reply_p50: float  # ms, kiosk `new` sent -> its `success new` (includes the database)
    reply_p99: float
    deliveries_per_s: float
    lost_new: int
    lost_claimed: int
    errors: int
    client_cpu: float  # busiest client process: CPU seconds / wall seconds
    server_cpu: float  # the worker: CPU seconds / wall seconds of the run
    cpu_ms_per_ticket: float  # the worker's CPU time per ticket: robust to a busy machine
    kiosk_lag_ms: float
    error_samples: list[str]
    lost_races: int = 0  # losing `accept` replies (race workload only)

    @property
    def ok(self) -> bool:
        """Sustained: nothing lost, no errors, both p99 within 100 ms."""
        return (self.lost_new == self.lost_claimed == self.errors == 0
                and max(self.new_p99, self.claimed_p99) <= 100.0)

    def line(self) -> str:
        return (
            f"{self.target:5} D={self.load['displays']:<4} R={self.load['rate']:<5g} "
            f"tickets={self.tickets:<5} new p50/p99={self.new_p50:6.2f}/{self.new_p99:7.2f} ms  "
            f"claimed p50/p99={self.claimed_p50:6.2f}/{self.claimed_p99:7.2f} ms  "
            f"reply p50/p99={self.reply_p50:.1f}/{self.reply_p99:.1f}  "
            f"deliveries/s={self.deliveries_per_s:8.0f}  lost={self.lost_new}+{self.lost_claimed} "
            f"errors={self.errors}{f' losers={self.lost_races}' if self.load.get('race') else ''}"
            f"  cpu server={self.server_cpu:.0%} "
            f"({self.cpu_ms_per_ticket:.2f} ms/ticket) client={self.client_cpu:.0%}"
        )


def _share(items: list[Any], i: int, n: int) -> list[Any]:
    return items[i::n]


def _plans(base: str, tokens: list[str], load: Load) -> list[Plan]:
    tag = "b" + uuid.uuid4().hex[:6]
    staff = [(t, tokens[t]) for t in range(load.staff)]
    n = load.clients
    return [
        Plan(base=base, staff=_share(staff, i, n), staff_total=load.staff,
             displays=_share(list(range(load.displays)), i, n),
             kiosks=_share(list(range(load.kiosks)), i, n), kiosk_total=load.kiosks,
             rate=load.rate, duration=load.warmup + load.duration, tag=tag, deflate=load.deflate,
             lean=load.lean, stalled=load.stalled if i == 0 else 0, race=load.race)
        for i in range(n)
    ]


def _receive(pipe: Any, proc: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not pipe.poll(0.2):
        if not proc.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("a client process died or did not answer in time")
    return pipe.recv()


def _cpu(server: Server) -> tuple[float, float]:
    """User + system CPU seconds of every worker (one unless --workers), and the time."""
    return sum(sum(w.cpu_times()[:2]) for w in server.workers()), time.monotonic()


def drive(server: Server, tokens: list[str], load: Load,
          on_go: Callable[[], Any] | None = None) -> tuple[list[Records], float, float]:
    """Run the client processes against a started server: their records, and the worker's
    CPU seconds and the wall seconds from the start signal to the last report."""
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for plan in _plans(server.base, tokens, load):
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(theirs, plan), daemon=True)
        proc.start()
        pipes.append(ours)
        procs.append(proc)
    try:
        for pipe, proc in zip(pipes, procs, strict=True):
            answer = _receive(pipe, proc, 120)
            if answer != "ready":
                raise RuntimeError(f"client process failed: {answer}")
        cpu0, wall0 = _cpu(server)
        start = time.monotonic() + 0.3
        for pipe in pipes:
            pipe.send(start)
        if on_go:
            on_go()
        records = []
        for pipe, proc in zip(pipes, procs, strict=True):
            status, value = _receive(pipe, proc, load.duration + 120)
            if status != "ok":
                raise RuntimeError(f"client process failed: {value}")
            records.append(value)
        cpu1, wall1 = _cpu(server)
        return records, cpu1 - cpu0, wall1 - wall0
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000


def summarize(target: str, load: Load, records: list[Records], cpu: float, wall: float) -> Result:
    sent = {k: v for r in records for k, v in r.sent.items()}
    first = min(sent.values(), default=0.0)
    measured = first + load.warmup  # latencies of tickets from here on; losses count from 0
    created = {name for r in records for name in r.created}
    claimed_at = {k: v for r in records for k, v in r.claimed_at.items()}
    new_lat, seen_new = [], set()
    for r in records:
        for table, name, t in r.staff_new:
            if name in created and (table, name) not in seen_new:
                seen_new.add((table, name))
                if sent[name] >= measured:
                    new_lat.append(t - sent[name])
    claimed_lat, seen_claimed = [], set()
    for r in records:
        for who, ticket, t in zip(r.display_who, r.display_ids, r.display_at, strict=True):
            if ticket in claimed_at and (who, ticket) not in seen_claimed:
                seen_claimed.add((who, ticket))
                if claimed_at[ticket] >= measured:
                    claimed_lat.append(t - claimed_at[ticket])
    frames = sum(sum(r.frames.values()) for r in records)
    reply_lat = [t - sent[name] for r in records
                 for name, t in zip(r.created, r.replied, strict=True) if sent[name] >= measured]
    last = max((r.last_frame for r in records), default=first)
    errors = [e for r in records for e in r.errors]
    return Result(
        target=target, load=asdict(load), tickets=len(created),
        new_p50=_pct(new_lat, 0.50), new_p99=_pct(new_lat, 0.99),
        claimed_p50=_pct(claimed_lat, 0.50), claimed_p99=_pct(claimed_lat, 0.99),
        reply_p50=_pct(reply_lat, 0.50), reply_p99=_pct(reply_lat, 0.99),
        deliveries_per_s=frames / max(last - first, 1e-9),
        lost_new=len(created) * load.staff - len(seen_new),
        lost_claimed=len(claimed_at) * load.displays - len(seen_claimed)
        + (len(created) - len(claimed_at)) * load.displays,
        errors=len(errors) + max(0, len(sent) - len(created) - len(errors)),  # + unanswered
        client_cpu=max(r.cpu / max(r.wall, 1e-9) for r in records),
        server_cpu=cpu / wall,
        cpu_ms_per_ticket=cpu * 1000 / max(len(created), 1),
        kiosk_lag_ms=max(r.lag for r in records) * 1000,
        error_samples=errors[:5],
        lost_races=sum(r.lost_races for r in records),
    )


def workers_env(workers: int) -> dict[str, str]:
    """Several app workers, their broadcasts relayed by the local Redis on a channel of
    this run's own."""
    return {"WEB_CONCURRENCY": str(workers), "REDIS_URL": "redis://127.0.0.1:6379/0",
            "REDIS_CHANNEL": "bench-" + uuid.uuid4().hex[:8]}


def measure(floor: bool, seed: Seed, load: Load, env: dict[str, str] | None = None,
            on_go: Callable[[Server], Any] | None = None) -> Result:
    """Start a fresh server (app on a copy of the seeded database, or the floor), run, stop.
    `on_go(server)` runs when the load starts (the profiler attaches there)."""
    with tempfile.TemporaryDirectory() as tmp:
        with Server(Path(tmp), floor=floor, seed=seed, tables=load.staff, env=env) as server:
            go = (lambda: on_go(server)) if on_go else None
            records, cpu, wall = drive(server, seed.tokens, load, go)
        return summarize("floor" if floor else "app", load, records, cpu, wall)
