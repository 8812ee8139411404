"""Profile the worker under load with py-spy and boil the samples down to where time goes:
the hottest functions (self time) and coarse buckets (database, websocket encoding,
socket writes, JSON, idle in the gevent hub)."""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.launch import Seed, Server
from bench.run import Load, Result, measure

# First match wins, testing frames from the leaf upwards.
BUCKETS = (
    # The hub waiting, and the threadpool's native threads waiting for work (several
    # workers with Redis run some there).
    ("idle (gevent hub waiting)", ("Hub.run (gevent/hub.py", "acquire_with_timeout (gevent/")),
    ("database (SQLAlchemy, sqlite3)", ("sqlalchemy/", "sqlite3", "psycopg")),
    ("websocket encoding (wsproto)", ("wsproto/",)),
    ("socket writes (send syscalls)", ("sendall (", " send (", "_socket3.py", "_socketcommon.py")),
    ("JSON and message formatting", ("json/", "(protocol/")),
    ("websocket reading (simple-websocket)", ("simple_websocket/", "(detached.py)")),
    ("fan-out bookkeeping (registry, connection, delivery, floor)",
     ("(registry.py)", "(connection.py)", "(delivery.py)", "floor.py)")),
)


# What the worker was doing, by the outermost recognisable frame (app, then floor).
PHASES = (
    ("accept refusal read (service/known.py)", "accept_refusal (tablequeue/service/known.py)"),
    ("losers' read batch (Coalescer.ask)", "Coalescer.ask (tablequeue/service/coalesce.py)"),
    ("relay: Redis publish / settle fence", "RedisRelay.publish (tablequeue/live/relay/pubsub"),
    ("relay: Redis publish / settle fence", "RedisRelay.settle (tablequeue/live/relay/pubsub"),
    ("relay: receiving other workers' events", "Listener._receive (tablequeue/live/relay/"),
    ("relay: decoding events (codec.decode)", "decode (tablequeue/live/relay/codec.py)"),
    ("service.new (kiosk: database)", "new (service/tickets.py)"),
    ("service.accept (staff: database)", "accept (service/tickets.py)"),
    ("service.complete (staff: database)", "_end (service/tickets.py)"),
    ("fan-out (Registry.deliver / floor fan_out)", "Registry.deliver"),
    ("fan-out (Registry.deliver / floor fan_out)", "fan_out (bench/floor.py)"),
    ("writing replies", "_respond (sockets.py)"),
    ("writing replies", "Peer.send (bench/floor.py)"),
    ("reading frames (simple-websocket reader greenlets)", "_thread (simple_websocket"),
    ("reading frames (detached readers, pings)", "Peer._pump (detached.py)"),
    ("reading frames (detached readers, pings)", "_Pinger._sweep (detached.py)"),
    ("flushing coalesced writes (hub callback)", "_Flusher.flush"),
)


@dataclass
class Profile:
    result: Result
    samples: int
    buckets: list[tuple[str, float]]  # share of busy samples
    top: list[tuple[str, float]]  # self time, share of busy samples
    busy: float  # share of all samples not idle in the hub
    phases: list[tuple[str, float]]


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found


def phases(raw: Path) -> list[tuple[str, float]]:
    """Busy samples by what the worker was doing (PHASES), as shares."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        if not stack or any(key in leaf for key in BUCKETS[0][1]):
            continue
        phase = next((name for name, key in PHASES if key in stack), "other")
        counts[phase] += int(count)
    busy = max(sum(counts.values()), 1)
    return [(name, n / busy) for name, n in counts.most_common()]


def summarize(raw: Path, top_n: int = 12) -> tuple[int, list[tuple[str, float]],
                                                    list[tuple[str, float]], float]:
    """Collapsed stacks (`a;b;c N` lines) -> total samples, bucket shares, top self frames."""
    buckets: collections.Counter[str] = collections.Counter()
    selfs: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        bucket = "other Python (Flask, service rules, gevent)"
        for frame in reversed(frames):
            match = next((name for name, keys in BUCKETS if any(k in frame for k in keys)), None)
            if match:
                bucket = match
                break
        buckets[bucket] += n
        if bucket != BUCKETS[0][0]:
            selfs[frames[-1]] += n
    idle = buckets.pop(BUCKETS[0][0], 0)
    busy = max(total - idle, 1)
    shares = [(name, n / busy) for name, n in buckets.most_common()]
    top = [(frame, n / busy) for frame, n in selfs.most_common(top_n)]
    return total, shares, top, (total - idle) / max(total, 1)


def profile(floor: bool, seed: Seed, load: Load, out: Path,
            env: dict[str, str] | None = None) -> Profile:
    """One measured run with one py-spy per worker recording it for the load's duration;
    their samples merged into `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    spy: list[tuple[subprocess.Popen[bytes], Path]] = []

    def attach(server: Server) -> None:
        for worker in server.workers():
            part = out.with_name(f"{out.name}.{worker.pid}")
            spy.append((subprocess.Popen(
                [_py_spy(), "record", "--pid", str(worker.pid), "--rate", "250",
                 "--duration", str(int(load.duration)), "--format", "raw", "--nonblocking",
                 "--idle", "--nolineno", "--output", str(part)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ), part))

    result = measure(floor, seed, load, env=None if floor else env, on_go=attach)
    merged = []
    for proc, part in spy:
        proc.wait(timeout=60)
        if part.exists():
            merged.append(part.read_text())
            part.unlink()
    out.write_text("".join(merged))
    total, buckets, top, busy = summarize(out)
    return Profile(result, total, buckets, top, busy, phases(out))


def render(p: Profile) -> str:
    lines = [f"{p.result.line()}", f"samples: {p.samples}, busy: {p.busy:.0%} of them",
             "where the busy time goes:"]
    lines += [f"  {share:6.1%}  {name}" for name, share in p.buckets]
    lines.append("what the worker was doing (share of busy samples):")
    lines += [f"  {share:6.1%}  {name}" for name, share in p.phases]
    lines.append("hottest functions (self time, share of busy samples):")
    lines += [f"  {share:6.1%}  {frame}" for frame, share in p.top]
    return "\n".join(lines)
