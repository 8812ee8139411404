"""How much one worker pays for idle websockets: its RSS with N idle displays connected.

The connections are proved live at the end: one staff member picks a table and every
display must receive the `pick T` broadcast."""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.launch import Seed, Server, raise_fd_limit
from bench.lean import LeanClient, open_lean


@dataclass
class Idle:
    target: str
    connections: int
    rss_mb: float  # the worker's resident set with the connections open
    base_mb: float  # the same worker before any connection
    live: int  # displays that received the broadcast sent after the measurement

    @property
    def per_connection_kb(self) -> float:
        return (self.rss_mb - self.base_mb) * 1024 / max(self.connections, 1)

    def line(self) -> str:
        return (f"{self.target:5} {self.connections:>5} idle: worker RSS {self.rss_mb:6.1f} MB "
                f"(empty {self.base_mb:.1f} MB, {self.per_connection_kb:.1f} KB each), "
                f"{self.live}/{self.connections} answered a broadcast")


def _rss_mb(server: Server) -> float:
    return server.worker().memory_info().rss / 2**20


async def _hold(server: Server, count: int, token: str) -> tuple[float, int]:
    heard = 0

    def on_text(payload: bytes, _t: float) -> None:
        nonlocal heard
        if payload == b"pick 0":
            heard += 1

    gate = asyncio.Semaphore(100)

    async def one() -> LeanClient:
        async with gate:
            return await open_lean(server.base, "/ws/display", False, on_text)

    displays = await asyncio.gather(*(one() for _ in range(count)))
    await asyncio.sleep(3)  # let the worker settle (join replays, allocator)
    rss = _rss_mb(server)
    staff = await open_lean(server.base, "/ws/staff", False, lambda *_: None)
    staff.send_text(f"pick 0 {token}")
    deadline = time.monotonic() + 60
    while heard < count and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for client in [*displays, staff]:
        client.close()
    await asyncio.sleep(0.5)
    return rss, heard


def idle(floor: bool, seed: Seed, count: int) -> Idle:
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as tmp:
        with Server(Path(tmp), floor=floor, seed=seed, tables=10) as server:
            time.sleep(1)
            base = _rss_mb(server)
            rss, live = asyncio.run(_hold(server, count, seed.tokens[0]))
    return Idle("floor" if floor else "app", count, rss, base, live)
