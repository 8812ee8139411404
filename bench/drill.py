"""`python -m bench.drill`: the fault drill. Two hosts x two gevent workers over one
PostgreSQL (through a TCP proxy the drill runs) and a private Redis, under load from staff
consoles, displays and kiosks, while faults are injected one after another:

  worker SIGKILL, whole-host SIGKILL, SIGSTOPped worker (10 s), Redis down (8 s),
  PostgreSQL unreachable (3 s, connections hang), backend terminations every 50 ms (2 s),
  graceful host restart, and issue 27's two (bench/drill_log.py): a host SIGKILLed
  between a commit and its publish, Redis restarted while staff are cut off.

Per fault it prints: recovery (from the repair until a new ticket has reached every staff
console on both hosts), tickets lost (acknowledged, not in the database), double claims,
commands with no reply (connection open) or two replies, clients whose view differs
from the database 5 s after the repair, and `new` deliveries missed by consoles bound
throughout. Needs PostgreSQL (--postgres, default the test
server) and redis-server on PATH; the shared Redis is never touched."""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from bench.drill_clients import Actor, Display, Kiosk, Staff, Tally, Unbound
from bench.drill_hosts import Host
from bench.drill_log import held_kill, missed_new, redis_cut_off
from bench.launch import _fresh_postgres, _with_database, drop_database, drop_seed, seed
from tests.kit.scale import PostgresProxy, PrivateRedis, truth

STAFF_PER_HOST, DISPLAYS_PER_HOST, UNBOUND_PER_HOST = 4, 3, 1


class Drill:
    def __init__(self, workdir: Path, postgres: str, rate: float) -> None:
        self.workdir = workdir
        # One account more than the load's consoles: the drill's own (drill_log.redis_cut_off).
        self.seeded = seed(workdir, 2 * STAFF_PER_HOST + 1, postgres=postgres)
        self.extra_token = self.seeded.tokens[-1]
        self.database = _fresh_postgres(self.seeded.postgres)  # type: ignore[arg-type]
        self.proxy = PostgresProxy()
        self.redis = PrivateRedis(workdir)
        self.redis.start()
        proxied = self.database.replace("@127.0.0.1:5432/", f"@127.0.0.1:{self.proxy.port}/")
        env = {"DATABASE_URL": proxied, "REDIS_URL": self.redis.url, "RATE_LIMITS": "off",
               "SECRET_KEY": "drill-" + os.urandom(16).hex(), "TABLE_COUNT": "20",
               "LOG_LEVEL": "warning", "REDIS_CHANNEL": "tq-drill"}
        self.hosts = [Host("host-a", workdir, env), Host("host-b", workdir, env)]
        for host in self.hosts:
            host.start()
        self.tally, self.stop, self.paused = Tally(), threading.Event(), threading.Event()
        self.actors: list[Actor] = []
        self.staff: list[Staff] = []
        tokens = self.seeded.tokens
        for h, host in enumerate(self.hosts):
            args = (host.port, self.tally, self.stop, self.paused)
            for i in range(STAFF_PER_HOST):
                n = h * STAFF_PER_HOST + i
                self.staff.append(Staff(n, *args, token=tokens[n]))
            self.actors += [Display(10 * h + i, *args) for i in range(DISPLAYS_PER_HOST)]
            self.actors += [Unbound(20 + 10 * h + i, *args) for i in range(UNBOUND_PER_HOST)]
        self.kiosks = [Kiosk(h, host.port, self.tally, self.stop, self.paused, rate / 2)
                       for h, host in enumerate(self.hosts)]
        self.actors += self.staff + self.kiosks
        self.rows: list[tuple[str, ...]] = []
        self.notes: list[str] = []
        self.verbose = False

    def engine(self) -> sa.Engine:  # tests.kit.scale.truth reads through this
        return sa.create_engine(self.database, poolclass=NullPool)

    # ---- measuring -------------------------------------------------------------------

    def recovery(self, repaired: float, within: float = 30.0) -> float | None:
        """Seconds from `repaired` until a probe ticket created after it has reached every
        staff console (live `new`, or the replay of a console that reconnected)."""
        probes = 0
        deadline = repaired + within
        while time.monotonic() < deadline:
            kiosk = self.kiosks[probes % 2]
            probes += 1
            kiosk.probes.append(f"new probe{probes}-{int(repaired)}@drill.example Probe {probes}")
            time.sleep(0.25)
            with self.tally.lock:
                for ticket, acked in list(kiosk.probe_ids):
                    seen = self.tally.arrivals.get(ticket, {})
                    if acked >= repaired and len(seen) == len(self.staff):
                        return max(seen.values()) - repaired
        return None

    def differing(self, missed: Callable[[], int]) -> tuple[int, int]:
        """Pause the load, let the last messages land, compare every view with the database;
        with `missed()`, counted at the same moment."""
        self.paused.set()
        deadline = time.monotonic() + 5
        while any(a.pending for a in self.actors) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        now = truth(self)  # type: ignore[arg-type]
        wrong = 0
        for actor in self.actors:
            screen = actor.screen
            if isinstance(actor, Kiosk):
                continue
            if screen is None:
                differs = "not connected"
            elif isinstance(actor, Staff):
                differs = ((frozenset(screen.waiting) ^ now.waiting)
                           or (not actor.bound and "unbound"))
            elif isinstance(actor, Unbound):
                differs = screen.taken != now.taken and f"{screen.taken} != {now.taken}"
            else:
                differs = screen.tables != now.at_tables and f"{screen.tables} != {now.at_tables}"
            if differs:
                wrong += 1
                if self.verbose:
                    print(f"   {type(actor).__name__} {actor.number}: {differs}", flush=True)
        missed_news = missed()
        self.paused.clear()
        return wrong, missed_news

    def run_fault(self, name: str, inject: Callable[[], float]) -> None:
        """`inject` breaks something, repairs it and returns the moment of the repair."""
        self.tally.phase = name
        print(f"-- {name}", flush=True)
        started = time.monotonic()
        repaired = inject()
        recovered = self.recovery(repaired)
        time.sleep(max(0.0, repaired + 5 - time.monotonic()))
        wrong = self.differing(lambda: missed_new(self, name, started))
        t = self.tally
        self.rows.append((name, "n/a" if recovered is None else f"{recovered:.1f}",
                          str(self.lost(name)), str(self.double_claims(name)),
                          str(t.no_reply[name]), str(t.two_replies[name]), str(wrong[0]),
                          str(wrong[1]), str(t.cut[name])))
        time.sleep(2)

    def lost(self, phase: str) -> int:
        engine = self.engine()
        with engine.connect() as conn:
            stored = {r.id: (r.email, r.name) for r in conn.execute(sa.text(
                "SELECT id, email, name FROM tickets"))}
        engine.dispose()
        with self.tally.lock:
            mine = [(i, e, n) for i, (e, n, p) in self.tally.acknowledged.items() if p == phase]
        return sum(1 for i, e, n in mine if stored.get(i) != (e, n))

    def double_claims(self, phase: str) -> int:
        with self.tally.lock:
            doubled = sum(1 for n in self.tally.claims.values() if n > 1)
        already = sum(int(r[3]) for r in self.rows)
        return doubled - already  # the claims counter is global: new doubles in this phase


def faults(d: Drill) -> list[tuple[str, Callable[[], float]]]:
    a, b = d.hosts

    def worker_kill() -> float:
        a.workers()[0].send_signal(signal.SIGKILL)  # gunicorn starts a new one
        return time.monotonic()

    def host_kill() -> float:
        b.kill()
        time.sleep(1)
        b.start()
        return time.monotonic()

    def worker_stop() -> float:
        worker = a.workers()[0]
        worker.send_signal(signal.SIGSTOP)
        time.sleep(10)
        worker.send_signal(signal.SIGCONT)
        return time.monotonic()

    def redis_down() -> float:
        d.redis.stop()
        time.sleep(8)
        d.redis.start()
        return time.monotonic()

    def postgres_hangs() -> float:
        d.proxy.hang()
        time.sleep(3)
        d.proxy.flow()
        return time.monotonic()

    def terminations() -> float:
        name = d.database.rsplit("/", 1)[1]
        admin = _with_database(d.database, "postgres").replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            end = time.monotonic() + 2
            while time.monotonic() < end:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                             " WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
                time.sleep(0.05)
        return time.monotonic()

    def graceful_restart() -> float:
        a.stop()
        a.start()
        return time.monotonic()

    return [("worker SIGKILL", worker_kill), ("host SIGKILL", host_kill),
            ("worker SIGSTOP 10 s", worker_stop), ("Redis down 8 s", redis_down),
            ("PostgreSQL hangs 3 s", postgres_hangs), ("backend kills 50 ms x 2 s", terminations),
            ("graceful host restart", graceful_restart),
            ("host SIGKILL between commit and publish", lambda: held_kill(d)),
            ("Redis restart while staff are cut off", lambda: redis_cut_off(d))]


HEADER = ("fault", "recovery s", "lost", "double claims", "no reply", "two replies",
          "views wrong at +5 s", "missed new", "cut by a drop")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.drill", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--rate", type=float, default=4.0, help="tickets per second, both kiosks")
    p.add_argument("--only", default="", help="comma-separated fault numbers (1-9) to run")
    p.add_argument("--verbose", action="store_true", help="print every view that differs")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="tq-drill-") as tmp:
        d = Drill(Path(tmp), args.postgres, args.rate)
        d.verbose = args.verbose
        try:
            for actor in d.actors:
                actor.start()
            time.sleep(5)  # every console bound, the load running
            chosen = {int(n) for n in args.only.split(",") if n} or set(range(1, 10))
            for n, (name, inject) in enumerate(faults(d), 1):
                if n in chosen:
                    d.run_fault(name, inject)
            tickets, claims = len(d.tally.acknowledged), len(d.tally.claims)
        finally:
            d.stop.set()
            for host in d.hosts:
                host.stop()
            d.redis.stop()
            d.proxy.close()
            drop_database(d.database)
            drop_seed(d.seeded)
    print(f"\n{tickets} tickets acknowledged, {claims} claimed, "
          f"{2 * STAFF_PER_HOST} staff, {2 * DISPLAYS_PER_HOST} displays, "
          f"{2 * UNBOUND_PER_HOST} unbound consoles, 2 kiosks at {args.rate}/s\n")
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in d.rows:
        print("| " + " | ".join(row) + " |")
    for note in d.notes:
        print(note)


if __name__ == "__main__":
    main()
