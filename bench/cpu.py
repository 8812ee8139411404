"""CPU seconds of a run, by process kind: the app (or floor) workers, the PostgreSQL
backends serving the run's database, the redis-server (only with REDIS_URL, several
workers), and everything else on the machine (busy time from /proc/stat minus those and
the bench's own client processes, steal included). Another session using more than
`NOISY_CORES` of a core during a run makes the run `noisy`: its latencies are suspect,
its CPU per ticket much less so."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import psutil

from bench.launch import Server, maintenance_dsn

NOISY_CORES = 0.1


def _cpu(proc: psutil.Process) -> float:
    try:
        return float(sum(proc.cpu_times()[:2]))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0


def _backends(database_url: str) -> list[int]:
    """The PostgreSQL server processes connected to the run's database."""
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(maintenance_dsn(database_url), autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))
        return [int(row[0]) for row in rows]


def _by_pid(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = _cpu(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    return out


def _redis() -> dict[int, float]:
    return {p.pid: _cpu(p) for p in psutil.process_iter(["name"])
            if p.info["name"] == "redis-server"}


def _busy() -> float:
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0)
                 - getattr(t, "guest_nice", 0.0))


@dataclass
class Snapshot:
    at: float
    busy: float
    workers: dict[int, float]
    postgres: dict[int, float] | None
    redis: dict[int, float] | None


def snapshot(server: Server) -> Snapshot:
    pg = _by_pid(_backends(server.database_url)) if server.database_url else None
    redis = _redis() if server.env.get("REDIS_URL") else None
    return Snapshot(time.monotonic(), _busy(), {w.pid: _cpu(w) for w in server.workers()},
                    pg, redis)


def _delta(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
    """CPU seconds of the processes alive at the end (one born during the run from 0)."""
    if after is None:
        return None
    return sum(cpu - (before or {}).get(pid, 0.0) for pid, cpu in after.items())


@dataclass
class Usage:
    """CPU seconds over `wall` seconds."""

    wall: float
    workers: float
    postgres: float | None = None
    redis: float | None = None
    busy: float = 0.0  # the whole machine
    clients: float = 0.0  # the bench's client processes (set from their records)
    per_worker: list[float] = field(default_factory=list)

    @property
    def server(self) -> float:
        """Everything serving the load: workers, PostgreSQL backends, Redis."""
        return self.workers + (self.postgres or 0.0) + (self.redis or 0.0)

    @property
    def others(self) -> float:
        """Cores' worth used by other processes during the run."""
        return max(0.0, self.busy - self.server - self.clients) / max(self.wall, 1e-9)

    @property
    def noisy(self) -> bool:
        return self.others > NOISY_CORES


def usage(before: Snapshot, after: Snapshot) -> Usage:
    per_worker = [cpu - before.workers.get(pid, 0.0) for pid, cpu in after.workers.items()]
    return Usage(wall=after.at - before.at, workers=sum(per_worker),
                 postgres=_delta(before.postgres, after.postgres),
                 redis=_delta(before.redis, after.redis), busy=after.busy - before.busy,
                 per_worker=per_worker)


def line(u: Usage, tickets: int) -> str:
    """CPU ms per ticket by process kind, and the noise flag."""
    per = max(tickets, 1)
    parts = [f"workers {u.workers * 1000 / per:.2f}"]
    if u.postgres is not None:
        parts.append(f"postgres {u.postgres * 1000 / per:.2f}")
    if u.redis is not None:
        parts.append(f"redis {u.redis * 1000 / per:.2f}")
    noise = f"others {u.others:.2f} cores{' NOISY' if u.noisy else ''}"
    return f"cpu ms/ticket: {', '.join(parts)} (server {u.server / max(u.wall, 1e-9):.0%}); {noise}"
