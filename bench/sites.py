"""What 100 sites cost against 1: `python -m bench.sites` (issue 22).

The same connections and the same ticket rate, over 1 site and over 100 sites, on one
worker (SQLite) and on 3 workers relaying through Redis (PostgreSQL, with --postgres):

- 100 sites: each with a kiosk, a display and 3 staff (500 connections); the kiosks send
  RATE tickets per second in all.
- 1 site: the same 500 connections and the same 100 sending kiosks, at one site whose
  tickets are each heard by one display and 3 staff, as at every site of the other layout;
  the remaining 396 connections are kiosks that only stay connected. Every ticket thus
  costs the same frames in both layouts: what differs is only how many sites there are.

Printed per run: the workers' CPU (user + system, all workers) per ticket, every frame
the connections received, how many of them were about another site than the receiving
connection's own (must be 0), tickets lost; then the ratio of CPU per ticket, 100 sites
against 1, for each server. docs/performance.md ("Sites") says how to read it."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.launch import PASSWORD, Seed, Server, drop_seed, raise_fd_limit, seed
from bench.run import workers_env
from bench.sites_load import STAFF_PER_SITE, Layout, Tally, connect_all, send_tickets

now = time.monotonic


@dataclass
class Outcome:
    sites: int
    workers: int
    tickets: int
    cpu_ms_per_ticket: float
    frames: int
    foreign: int
    lost: int
    errors: int

    def line(self) -> str:
        return (f"sites={self.sites:<4} workers={self.workers}  tickets={self.tickets:<5} "
                f"worker CPU={self.cpu_ms_per_ticket:6.2f} ms/ticket  frames={self.frames:<7} "
                f"foreign frames={self.foreign}  lost={self.lost}  errors={self.errors}")


def layout(sites: int, total_sites: int, tokens: list[str]) -> Layout:
    """`sites` sites holding the connections of `total_sites` sites of the full layout."""
    connections = total_sites * (STAFF_PER_SITE + 2)
    senders = total_sites
    used = sites * (STAFF_PER_SITE + 1) + senders
    return Layout(sites=sites, displays=1, senders=senders, idle=connections - used,
                  tokens=tokens)


async def _drive(server: Server, plan: Layout, rate: float, duration: float,
                 warmup: float) -> tuple[Tally, float, int]:
    """The load on a started server: the tally, the workers' CPU seconds over the measured
    part, and how many tickets were sent in it."""
    tally, tag = Tally(), "b" + uuid.uuid4().hex[:6]
    clients = await connect_all(server.base, plan, tally, asyncio.Semaphore(64))
    kiosks = clients[:plan.senders]
    await asyncio.sleep(1.0)  # greetings and the sites' subscriptions settle
    load = asyncio.ensure_future(send_tickets(kiosks, plan, rate, warmup + duration, tag, tally))
    await asyncio.sleep(warmup)
    cpu0, sent0 = _cpu(server), len(tally.sent)
    await load
    deadline = now() + 20
    while len(tally.created) + len(tally.errors) < len(tally.sent) and now() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # the last accepts and completes
    cpu = _cpu(server) - cpu0
    for client in clients:
        client.close()
    return tally, cpu, len(tally.sent) - sent0


def _cpu(server: Server) -> float:
    return sum(sum(w.cpu_times()[:2]) for w in server.workers())


def run(seeded: Seed, sites: int, total: int, workers: int, args: argparse.Namespace) -> Outcome:
    env = workers_env(workers) if workers > 1 else {}
    env["SITE_UNSUBSCRIBE_SECONDS"] = "60"
    plan = layout(sites, total, seeded.tokens)
    with tempfile.TemporaryDirectory() as tmp, \
            Server(Path(tmp), floor=False, seed=seeded, tables=10, env=env) as server:
        tally, cpu, measured = asyncio.run(
            _drive(server, plan, args.rate, args.duration, args.warmup))
    expected = STAFF_PER_SITE * 2 + plan.displays + 1  # new, claimed; display; kiosk reply
    lost = sum(max(0, expected - tally.heard.get(name, 0)) for name in tally.sent)
    return Outcome(sites, workers, measured, cpu * 1000 / max(measured, 1), tally.frames,
                   tally.foreign, lost, len(tally.errors))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sites", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=100, help="sites of the spread layout")
    parser.add_argument("--rate", type=float, default=20.0, help="tickets/s, all sites")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=1, help="repeats of each layout")
    parser.add_argument("--workers", default="1,3", help="servers: worker counts (3 needs "
                        "Redis on 127.0.0.1:6379 and --postgres)")
    parser.add_argument("--postgres", default="", help="PostgreSQL server URL for more than "
                        "one worker, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    raise_fd_limit()
    total = args.sites
    results: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (int(w) for w in args.workers.split(",")):
            postgres = args.postgres if workers > 1 else None
            if workers > 1 and not postgres:
                raise SystemExit("more than one worker needs --postgres (and Redis)")
            for sites in (1, total):
                folder = Path(tmp) / f"seed-{workers}-{sites}"
                folder.mkdir()
                seeded = seed(folder, 0, postgres, seeder=[
                    "bench.sites_seed", str(sites), str(STAFF_PER_SITE),
                    str(STAFF_PER_SITE * sites), PASSWORD])
                try:
                    for _ in range(args.runs):  # alternating would need two seeds alive
                        results.append(run(seeded, sites, total, workers, args))
                        print(results[-1].line(), flush=True)
                finally:
                    drop_seed(seeded)
    _ratios(results, total)


def _ratios(results: list[Outcome], total: int) -> None:
    for workers in sorted({r.workers for r in results}):
        one = [r.cpu_ms_per_ticket for r in results if r.workers == workers and r.sites == 1]
        many = [r.cpu_ms_per_ticket for r in results
                if r.workers == workers and r.sites == total]
        if one and many:
            ratio = _median(many) / _median(one)
            print(f"workers={workers}: CPU per ticket, {total} sites / 1 site = {ratio:.3f} "
                  f"({'within' if ratio <= 1.15 else 'NOT within'} 15 %)")
    foreign = sum(r.foreign for r in results)
    print(f"foreign frames in all runs: {foreign}" + ("" if foreign == 0 else "  <- FAILED"))


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


if __name__ == "__main__":
    main()
