"""`python -m bench --spread 1,2,3`: the same load on 1, 2, 3 app workers (more than one
relays through Redis), on the seeded database (`--postgres URL` for PostgreSQL): the CPU of
every server process per ticket (workers, PostgreSQL backends, redis-server), and each
count's total against one worker's. With --capacity, each count's capacity too, and whether
2 workers hold at least one worker's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench import modes
from bench.cpu import line
from bench.launch import Seed
from bench.run import Load, Result, measure, workers_env

Say = Callable[[str], None]


@dataclass
class Spread:
    workers: int
    result: Result

    @property
    def server_ms(self) -> float:
        """CPU ms per ticket of every server process together."""
        return self.result.usage.server * 1000 / max(self.result.tickets, 1)


def _env(workers: int) -> dict[str, str]:
    return workers_env(workers) if workers > 1 else {}


def spread(seed: Seed, load: Load, say: Say, counts: tuple[int, ...],
           with_capacity: bool = False) -> list[Spread]:
    out = []
    for n in counts:
        result = measure(False, seed, load, env=_env(n))
        out.append(Spread(n, result))
        say(f"{n} worker(s): {result.line()}")
    base = out[0].server_ms if out else 0.0
    for s in out:
        u = s.result.usage
        say(f"{s.workers} worker(s): server {s.server_ms:.2f} ms/ticket "
            f"({s.server_ms / max(base, 1e-9):.2f}x {counts[0]} worker(s)); "
            f"{line(u, s.result.tickets)}; per worker "
            + ", ".join(f"{w / max(u.wall, 1e-9):.0%}" for w in u.per_worker))
    if with_capacity:
        caps = {n: modes.capacity(False, seed, load, say, env=_env(n)) for n in counts}
        for n, cap in caps.items():
            say(f"capacity with {n} worker(s): {cap.text()}")
        if 1 in caps and 2 in caps:
            verdict = "holds" if caps[2].rate >= caps[1].rate else "is below"
            say(f"2 workers' capacity {verdict} 1 worker's")
    return out
