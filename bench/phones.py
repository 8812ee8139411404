"""`python -m bench.phones`: visitors' phones following their place (/ws/visitor) on one
worker, on top of the usual load (20 staff, 200 displays, 5 kiosks, 20 tickets/s).

Before the server starts, the seeded database gets FRONT waiting tickets, then TICKETS
tickets each followed by PER_TICKET phones (follow codes stored as hashes, as the kiosk
makes them). During the load, a "mover" staff member at one more table claims a front
ticket once a second: every claim moves every phone's position, the worst case. Measured:
from the mover's `success claimed` to each phone's next `state` with its new position
(p50/p99), the worker's RSS (peak), and the kiosk -> staff p99 of the same load with and
without the phones (one run each)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import multiprocessing
import secrets
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from pathlib import Path

from bench.launch import Seed, Server, drop_seed, raise_fd_limit, seed
from bench.lean import LeanClient, open_lean
from bench.run import Load, drive, summarize

now = time.monotonic


@dataclass
class PhonePlan:
    base: str
    codes: list[tuple[int, int, str]]  # (phone, ticket position among phone tickets, code)
    front: list[int]  # ticket ids the mover claims, in order
    mover_table: int
    mover_token: str
    claims: int
    period: float = 1.0


@dataclass
class PhoneRecords:
    claimed: list[float] = field(default_factory=list)  # k-th mover claim answered at
    # (phone, ahead, arrival) for every waiting state after the start signal
    states: list[tuple[int, int, float]] = field(default_factory=list)
    connect_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def prepare(seeded: Seed, front: int, tickets: int) -> tuple[list[int], list[tuple[int, str]]]:
    """FRONT tickets, then TICKETS more, each with a follow code; (front ids, [(id, code)])."""
    db = sqlite3.connect(seeded.path)
    with db:
        site = db.execute("SELECT id FROM sites WHERE slug = 'main'").fetchone()[0]
        db.execute("INSERT INTO visitors (site_id, email, name, updated_at, wants_email) "
                   "VALUES (?, 'phones@bench.example', 'Phone', '2026-01-01 00:00:00+00:00', 0)",
                   (site,))
        visitor = db.execute(
            "SELECT id FROM visitors WHERE email='phones@bench.example'").fetchone()[0]
        ids = []
        for _ in range(front + tickets):
            cur = db.execute(
                "INSERT INTO tickets (site_id, visitor_id, email, name, status, created_at) VALUES "
                "(?, ?, 'phones@bench.example', 'Phone', 'waiting', '2026-01-01 00:00:00+00:00')",
                (site, visitor))
            ids.append(cur.lastrowid)
        codes = []
        for ticket_id in ids[front:]:
            code = secrets.token_urlsafe(16)
            db.execute("INSERT INTO follow_codes (ticket_id, code_hash, email_me, almost_sent, "
                       "created_at) VALUES (?, ?, 0, 0, '2026-01-01 00:00:00+00:00')",
                       (ticket_id, hashlib.sha256(code.encode()).hexdigest()))
            codes.append((ticket_id, code))
    db.close()
    return ids[:front], codes


async def _phones(pipe: Pipe, plan: PhonePlan) -> PhoneRecords:
    rec = PhoneRecords()
    started = [False]
    first: dict[int, asyncio.Future[None]] = {}
    loop = asyncio.get_running_loop()

    def handler(phone: int) -> Callable[[bytes, float], None]:
        def on_text(payload: bytes, t: float) -> None:
            if payload.startswith(b"state "):
                fut = first.get(phone)
                if fut is not None and not fut.done():
                    fut.set_result(None)
                if started[0]:
                    state = json.loads(payload[6:])
                    if state["status"] == "waiting":
                        rec.states.append((phone, state["ahead"], t))
            elif payload.startswith(b"error"):
                rec.errors.append(payload.decode())
        return on_text

    gate = asyncio.Semaphore(64)
    t0 = now()

    async def open_phone(phone: int, code: str) -> LeanClient:
        first[phone] = loop.create_future()
        async with gate:
            client = await open_lean(plan.base, "/ws/visitor", False, handler(phone))
            client.send_text(f"follow {code}")
            await asyncio.wait_for(first[phone], 120)
        return client

    clients = await asyncio.gather(*(open_phone(p, c) for p, _, c in plan.codes))
    rec.connect_seconds = now() - t0

    answered: asyncio.Queue[bytes] = asyncio.Queue()
    mover = await open_lean(plan.base, "/ws/staff", False,
                            lambda payload, t: answered.put_nowait(payload) if payload.startswith(
                                (b"success", b"error")) else None)
    mover.send_text(f"pick {plan.mover_table} {plan.mover_token}")
    assert (await answered.get()).startswith(b"success pick"), "the mover could not pick"
    pipe.send("ready")
    await loop.run_in_executor(None, pipe.recv)  # go
    started[0] = True
    await asyncio.sleep(1.0)  # the load's warm-up
    for ticket_id in plan.front[: plan.claims]:
        at = now()
        mover.send_text(f"accept {ticket_id}")
        reply = await answered.get()
        rec.claimed.append(now())
        if not reply.startswith(b"success claimed"):
            rec.errors.append(reply.decode())
        mover.send_text(f"complete {ticket_id}")
        await answered.get()
        await asyncio.sleep(max(0.0, at + plan.period - now()))
    await asyncio.sleep(3.0)  # the last batch
    for client in [*clients, mover]:
        client.close()
    return rec


def phone_worker(pipe: Pipe, plan: PhonePlan) -> None:
    raise_fd_limit()
    try:
        pipe.send(("ok", asyncio.run(_phones(pipe, plan))))
    except Exception as exc:
        pipe.send(("failed", repr(exc)))


def latencies(plan: PhonePlan, rec: PhoneRecords, per_ticket: int) -> list[float]:
    """For claim k: each phone's first state showing the position after that claim."""
    front_left = len(plan.front)
    by_phone: dict[int, list[tuple[int, float]]] = {}
    for phone, ahead, t in rec.states:
        by_phone.setdefault(phone, []).append((ahead, t))
    out = []
    for phone, position, _ in plan.codes:
        seen = by_phone.get(phone, [])
        for k, claimed in enumerate(rec.claimed):
            expected = front_left - (k + 1) + position
            arrival = next((t for ahead, t in seen if ahead <= expected and t >= claimed - 0.05),
                           None)
            out.append(math.inf if arrival is None else arrival - claimed)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] * 1000


def run(phones: int, per_ticket: int, load: Load, claims: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        seeded = seed(Path(tmp), load.staff + 1)
        tickets = phones // per_ticket
        front, codes = prepare(seeded, claims + 2, tickets)
        plan_codes = [(p, p // per_ticket, codes[p // per_ticket][1]) for p in range(phones)]
        try:
            (Path(tmp) / "run").mkdir()
            with Server(Path(tmp) / "run", floor=False, seed=seeded,
                        tables=load.staff + 1) as server:
                plan = PhonePlan(server.base, plan_codes, front, load.staff,
                                 seeded.tokens[load.staff], claims)
                ctx = multiprocessing.get_context("spawn")
                ours, theirs = ctx.Pipe()
                proc = ctx.Process(target=phone_worker, args=(theirs, plan), daemon=True)
                proc.start()
                answer = ours.recv()
                if answer != "ready":
                    raise RuntimeError(f"phones: {answer}")
                peak = [server.worker().memory_info().rss]
                sampling = [True]

                def sample() -> None:
                    while sampling[0]:
                        peak[0] = max(peak[0], server.worker().memory_info().rss)
                        time.sleep(0.25)

                threading.Thread(target=sample, daemon=True).start()
                rss_connected = server.worker().memory_info().rss
                records, cpu, wall = drive(server, seeded.tokens[: load.staff], load,
                                           lambda: ours.send("go"))
                status, rec = ours.recv()
                sampling[0] = False
                proc.join(10)
                if status != "ok":
                    raise RuntimeError(f"phones: {rec}")
            result = summarize("app", load, records, cpu, wall)
            lat = latencies(plan, rec, per_ticket)
            return {
                "phones": phones, "tickets_followed": tickets, "claims": len(rec.claimed),
                "phone_connect_s": round(rec.connect_seconds, 1),
                "claim_to_phone_p50_ms": round(_pct(lat, 0.5), 1),
                "claim_to_phone_p99_ms": round(_pct(lat, 0.99), 1),
                "claim_to_phone_max_ms": round(max(lat) * 1000, 1),
                "phone_updates_missing": sum(1 for x in lat if math.isinf(x)),
                "phone_errors": rec.errors[:5],
                "rss_connected_mb": round(rss_connected / 2**20, 1),
                "rss_peak_mb": round(peak[0] / 2**20, 1),
                "load": result.line(),
                "kiosk_to_staff_p99_ms": round(result.new_p99, 1),
                "display_claimed_p99_ms": round(result.claimed_p99, 1),
            }
        finally:
            drop_seed(seeded)


def run_without_phones(load: Load, claims: int) -> dict[str, object]:
    """The same load without phones (the front tickets are there, unfollowed)."""
    with tempfile.TemporaryDirectory() as tmp:
        seeded = seed(Path(tmp), load.staff + 1)
        prepare(seeded, claims + 2, 0)
        try:
            (Path(tmp) / "run").mkdir()
            with Server(Path(tmp) / "run", floor=False, seed=seeded,
                        tables=load.staff + 1) as server:
                records, cpu, wall = drive(server, seeded.tokens[: load.staff], load)
                rss = server.worker().memory_info().rss
            result = summarize("app", load, records, cpu, wall)
            return {"load": result.line(), "kiosk_to_staff_p99_ms": round(result.new_p99, 1),
                    "display_claimed_p99_ms": round(result.claimed_p99, 1),
                    "rss_mb": round(rss / 2**20, 1)}
        finally:
            drop_seed(seeded)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.phones", description=__doc__)
    p.add_argument("--phones", type=int, default=5000)
    p.add_argument("--per-ticket", type=int, default=1,
                   help="phones following each ticket (1: every phone its own ticket)")
    p.add_argument("--claims", type=int, default=10, help="mover claims, one a second")
    p.add_argument("--duration", type=float, default=12.0)
    p.add_argument("--no-baseline", dest="baseline", action="store_false",
                   help="skip the run without phones")
    args = p.parse_args()
    raise_fd_limit()
    load = Load(duration=args.duration)
    if args.baseline:
        without = run_without_phones(load, args.claims)
        print("without phones:", json.dumps(without, indent=2), flush=True)
    with_phones = run(args.phones, args.per_ticket, load, args.claims)
    print("with phones:", json.dumps(with_phones, indent=2), flush=True)


if __name__ == "__main__":
    main()
