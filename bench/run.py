"""One measured run: start the server, spread the connections over client processes, start
them together, join their records (bench/waits.py) and the CPU used (bench/cpu.py)."""

from __future__ import annotations

import multiprocessing
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu import Usage, line, snapshot, usage
from bench.launch import Seed, Server
from bench.load import worker
from bench.load_share import Plan, Records
from bench.waits import Waits, waits


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
    clicker: str = "kind"  # the staff client: kind, person or storm (bench/clickers.py)
    watch: bool = False  # displays opt in to `waiting N` / `tables N`
    since: bool = False  # displays and staff open with `?since=` (issue 27's `mark N`)

    @property
    def race(self) -> bool:
        return self.clicker != "kind"


@dataclass
class Result:
    target: str  # "app" or "floor"
    load: dict[str, Any]
    waits: Waits
    usage: Usage
    client_cpu: float  # busiest client process: CPU seconds / wall seconds
    kiosk_lag_ms: float
    error_samples: list[str]
    lost_races: int = 0  # refused `accept`s (race clickers)
    frames: dict[str, int] = field(default_factory=dict)  # broadcast frames by role and word

    @property
    def failed(self) -> str | None:
        """The first rule of the pass rule broken (bench/waits.py), or None."""
        return self.waits.failed

    @property
    def ok(self) -> bool:
        return self.failed is None

    # The figures earlier reports and tools read, by their old names.
    @property
    def tickets(self) -> int:
        return self.waits.tickets

    @property
    def new_p50(self) -> float:
        return self.waits.p50["kiosk→staff"]

    @property
    def new_p99(self) -> float:
        return self.waits.p99["kiosk→staff"]

    @property
    def claimed_p50(self) -> float:  # from the winning `accept` sent, no longer its reply
        return self.waits.p50["accept→display"]

    @property
    def claimed_p99(self) -> float:
        return self.waits.p99["accept→display"]

    @property
    def reply_p50(self) -> float:
        return self.waits.p50["kiosk reply"]

    @property
    def reply_p99(self) -> float:
        return self.waits.p99["kiosk reply"]

    @property
    def deliveries_per_s(self) -> float:
        return self.waits.delivered_per_s

    @property
    def lost_new(self) -> int:
        return self.waits.lost["staff new"]

    @property
    def lost_claimed(self) -> int:
        return sum(self.waits.lost.values()) - self.lost_new

    @property
    def errors(self) -> int:
        return self.waits.errors

    @property
    def server_cpu(self) -> float:
        return self.usage.workers / max(self.usage.wall, 1e-9)

    @property
    def cpu_ms_per_ticket(self) -> float:
        return self.usage.workers * 1000 / max(self.tickets, 1)

    @property
    def accepts_per_ticket(self) -> float:
        return self.waits.accepts / max(self.tickets, 1)

    def line(self) -> str:
        w = self.waits
        raced = self.load["clicker"] != "kind"
        race = f", accepts/ticket {self.accepts_per_ticket:.1f}" if raced else ""
        return (
            f"{self.target:5} {self.load['clicker']:6} D={self.load['displays']:<4} "
            f"R={self.load['rate']:<5g} tickets={self.tickets:<5} p50/p99 ms: {w.steps()}\n"
            f"      delivered {w.delivered_share:.1%} of {w.offered_per_s:,.0f}/s, "
            f"lost {sum(w.lost.values())}, unanswered {w.unanswered}, errors {w.errors}{race}; "
            f"{line(self.usage, self.tickets)}; client {self.client_cpu:.0%}; "
            f"{'OK' if self.ok else 'FAILED: ' + str(self.failed)}"
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
             lean=load.lean, stalled=load.stalled if i == 0 else 0, clicker=load.clicker,
             warmup=load.warmup, watch=load.watch, since=load.since)
        for i in range(n)
    ]


def _receive(pipe: Any, proc: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not pipe.poll(0.2):
        if not proc.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("a client process died or did not answer in time")
    return pipe.recv()


def _start(server: Server, tokens: list[str], load: Load) -> tuple[list[Any], list[Any]]:
    """Spawn the client processes and wait until each has connected everything."""
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for plan in _plans(server.base, tokens, load):
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(theirs, plan), daemon=True)
        proc.start()
        pipes.append(ours)
        procs.append(proc)
    for pipe, proc in zip(pipes, procs, strict=True):
        answer = _receive(pipe, proc, 120)
        if answer != "ready":
            raise RuntimeError(f"client process failed: {answer}")
    return pipes, procs


def drive(server: Server, tokens: list[str], load: Load,
          on_go: Callable[[], Any] | None = None) -> tuple[list[Records], Usage, float]:
    """Run the client processes against a started server: their records, the CPU used
    from the start signal to the last report, and those wall seconds."""
    pipes: list[Any] = []
    procs: list[Any] = []
    try:
        pipes, procs = _start(server, tokens, load)
        before = snapshot(server)
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
        used = usage(before, snapshot(server))
        used.clients = sum(r.cpu for r in records)
        return records, used, used.wall
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def summarize(target: str, load: Load, records: list[Records], cpu: Usage,
              wall: float) -> Result:
    errors = [e for r in records for e in r.errors]
    return Result(
        target=target, load=asdict(load),
        waits=waits(records, load.staff, load.displays, load.rate, load.warmup, load.duration,
                    load.watch, load.since),
        usage=cpu,
        client_cpu=max(r.cpu / max(r.wall, 1e-9) for r in records),
        kiosk_lag_ms=max(r.lag for r in records) * 1000,
        error_samples=errors[:5],
        lost_races=sum(r.lost_races for r in records),
        frames=dict(sum((Counter(r.frames) for r in records), Counter())),
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
