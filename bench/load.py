"""The load client: one process holds a share of the staff, display and kiosk connections
and records when each frame arrives, on the machine-wide monotonic clock so the
coordinator can join records from several processes.

Each role is a handler `on_text(payload, arrival) -> reply or None` (the staff's are in
bench/clickers.py), driven either by bench.lean (default) or by the `websockets` client
(`--no-lean`)."""

from __future__ import annotations

import asyncio
import json
import time
from multiprocessing.connection import Connection as Pipe

from websockets.asyncio.client import ClientConnection, connect

from bench.clickers import CLICKERS, Handler, finish, ticket_id
from bench.launch import raise_fd_limit
from bench.lean import LeanClient, open_lean
from bench.load_share import Plan, Records

now = time.monotonic


def ticket_name(plan: Plan, kiosk: int, seq: int) -> str:
    """Unique per ticket; ends with the staff member who will take it (round robin)."""
    target = (kiosk + seq * plan.kiosk_total) % plan.staff_total
    return f"{plan.tag} k{kiosk} n{seq} s{target}"


def display_handler(number: int, rec: Records) -> Handler:
    """Note when each `claimed` and each `complete T` arrived, by display and ticket id
    (`complete T` ends the ticket this display last saw called at table T)."""
    at_table: dict[bytes, int] = {}

    def on_text(payload: bytes, t: float) -> None:
        rec.last_frame = t
        if payload.startswith(b"claimed "):
            ticket = ticket_id(payload)
            at_table[payload.split(b" ", 3)[2]] = ticket
            rec.display_ids.append(ticket)
            rec.display_who.append(number)
            rec.display_at.append(t)
            rec.count("display claimed", t)
        elif payload.startswith(b"complete "):
            done = at_table.pop(payload[9:].strip(), None)
            if done is not None:
                rec.display_done.append((number, done, t))
            rec.count("display complete", t)
        elif payload.startswith(b"error"):
            rec.errors.append(payload.decode())
        elif not payload.startswith(b"success "):
            rec.count("display " + payload.split(b" ", 1)[0].decode(), t)

    return on_text


def kiosk_handler(rec: Records) -> Handler:
    def on_text(payload: bytes, t: float) -> None:
        rec.last_frame = t
        if payload.startswith(b"success new "):
            rec.created.append(json.loads(payload[12:])["name"])
            rec.replied.append(t)
        else:
            rec.errors.append(payload.decode())

    return on_text


class Peer:
    """One connection of either kind, with a swappable handler."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.lean: LeanClient | None = None
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None

    def on_text(self, payload: bytes, t: float) -> None:
        reply = self.handler(payload, t)
        if reply is not None:
            self.send(reply)

    def send(self, text: str) -> None:
        if self.lean is not None:
            self.lean.send_text(text)
        else:
            asyncio.ensure_future(self.ws.send(text))  # type: ignore[union-attr]

    async def _pump(self) -> None:
        async for msg in self.ws:  # type: ignore[union-attr]
            self.on_text(msg.encode() if isinstance(msg, str) else msg, now())

    async def close(self) -> None:
        if self.lean is not None:
            self.lean.close()
        elif self.ws is not None:
            if self.task:
                self.task.cancel()
            await self.ws.close()


async def open_peer(plan: Plan, path: str, handler: Handler, gate: asyncio.Semaphore) -> Peer:
    peer = Peer(handler)
    async with gate:
        if plan.lean:
            peer.lean = await open_lean(plan.base, path, plan.deflate, peer.on_text)
        else:
            peer.ws = await connect(plan.base + path, ping_interval=None, open_timeout=60,
                                    compression="deflate" if plan.deflate else None,
                                    max_queue=None)
            peer.task = asyncio.create_task(peer._pump())
    return peer


async def pick(plan: Plan, table: int, token: str, rec: Records,
               gate: asyncio.Semaphore) -> Peer:
    """Connect staff sT and bind it at table T; then hand it the staff handler."""
    picked: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def setup(payload: bytes, _t: float) -> None:
        if payload.startswith(b"success pick") and not picked.done():
            picked.set_result(None)
        elif payload.startswith(b"error") and not picked.done():
            picked.set_exception(RuntimeError(f"s{table} could not pick: {payload!r}"))

    peer = await open_peer(plan, plan.screen("/ws/staff"), setup, gate)
    peer.send(f"pick {table} {token}")
    await asyncio.wait_for(picked, 60)
    peer.handler = CLICKERS[plan.clicker](table, plan.tag, rec)
    return peer


async def greeted(plan: Plan, path: str, handler: Handler, gate: asyncio.Semaphore) -> Peer:
    """Open a screen and return once its greeting is in, then hand it `handler`: the reply
    to an unknown command comes after the greeting (a connection handles its frames in
    order). A display still being greeted when the first ticket is called is shown it by
    its greeting, not by a `claimed` frame, which the losses would count."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def setup(payload: bytes, _t: float) -> None:
        if payload.startswith(b"error ") and not done.done():
            done.set_result(None)

    peer = await open_peer(plan, path, setup, gate)
    peer.send("greeted")
    await asyncio.wait_for(done, 60)
    peer.handler = handler
    return peer


async def kiosk_sender(peer: Peer, kiosk: int, plan: Plan, start: float, rec: Records) -> None:
    """Open loop: each kiosk sends on its own fixed schedule, whatever the replies do."""
    period = plan.kiosk_total / plan.rate
    seq = 0
    while (at := start + kiosk / plan.rate + seq * period) < start + plan.duration:
        delay = at - now()
        if delay > 0:
            await asyncio.sleep(delay)
        rec.lag = max(rec.lag, -delay)
        name = ticket_name(plan, kiosk, seq)
        rec.sent[name] = now()
        peer.send(f"new k{kiosk}n{seq}@bench.example {name}")
        seq += 1


async def run(pipe: Pipe, plan: Plan) -> Records:
    rec = Records()
    gate = asyncio.Semaphore(64)
    staff = await asyncio.gather(*(pick(plan, t, tok, rec, gate) for t, tok in plan.staff))
    displays = await asyncio.gather(
        *(greeted(plan, plan.screen("/ws/display"), display_handler(n, rec), gate)
          for n in plan.displays))
    stalled = await asyncio.gather(*(open_lean(plan.base, "/ws/display", False, lambda *_: None,
                                               stall=True) for _ in range(plan.stalled)))
    kiosks = await asyncio.gather(
        *(open_peer(plan, "/ws/kiosk", kiosk_handler(rec), gate) for _ in plan.kiosks))
    if plan.watch:
        for display in displays:
            display.send("watch")
    await asyncio.sleep(0.5)  # the join-time replays (`pick T` ...) arrive; not counted
    rec.frames.clear()
    pipe.send("ready")
    start = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    rec.window = (start + plan.warmup, start + plan.duration)
    cpu0, wall0 = time.process_time(), now()
    await asyncio.gather(*(kiosk_sender(peer, k, plan, start, rec)
                           for peer, k in zip(kiosks, plan.kiosks, strict=True)))
    end = start + plan.duration
    while now() < end + plan.drain_max:
        await asyncio.sleep(0.1)
        replied = len(rec.created) + len(rec.errors) >= len(rec.sent)
        asked = any(p.handler.asked for p in staff)  # type: ignore[attr-defined]
        if replied and not asked and now() - max(rec.last_frame, end) > plan.quiet:
            break
    finish([p.handler for p in staff], rec)
    rec.cpu, rec.wall = time.process_time() - cpu0, now() - wall0
    await asyncio.gather(*(p.close() for p in [*staff, *displays, *kiosks]),
                         return_exceptions=True)
    for client in stalled:
        client.close()
    return rec


def worker(pipe: Pipe, plan: Plan) -> None:
    """Entry point of a client process: connect, report ready, run at the given start."""
    raise_fd_limit()
    try:
        pipe.send(("ok", asyncio.run(run(pipe, plan))))
    except Exception as exc:  # reported to the coordinator rather than lost in a child
        pipe.send(("failed", repr(exc)))
