"""Contested commands: frames sent on many connections at one instant, the database's
write lock held while commands arrive, and the answers a losing claim gets."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import sqlalchemy as sa

from tests.kit.client import Client
from tests.kit.live import LiveServer

BARRIER_TIMEOUT = 60  # seconds; only reached if a thread is stuck, never by a slow machine
CLAIMED = "error accept this ticket is now claimed"
# A reply that needed the lock would come only after it is released (or, on SQLite, after
# the 5 s busy timeout as `unavailable`): the lock is held longer than this.
UNDER_LOCK = 15


def at_once(clients: Sequence[Client], frames: Sequence[str],
            after: Callable[[Client, str, list[str]], None] | None = None) -> list[str]:
    """Send frames[i] on clients[i], all released together; the reply each got.

    `after(client, reply, skipped)` runs in the same thread once the reply is in."""
    barrier = threading.Barrier(len(clients), timeout=BARRIER_TIMEOUT)

    def one(i: int) -> str:
        barrier.wait()
        clients[i].send(frames[i])
        reply, skipped = clients[i].reply(timeout=60)
        if after:
            after(clients[i], reply, skipped)
        return reply

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(one, range(len(clients))))


@contextmanager
def write_locked(server: LiveServer) -> Iterator[None]:
    """Hold the database's write lock on `tickets` while the block runs."""
    engine = server.engine()
    try:
        if engine.dialect.name == "sqlite":
            raw = sqlite3.connect(engine.url.database, isolation_level=None, timeout=30)
            try:
                raw.execute("BEGIN IMMEDIATE")
                yield
            finally:
                raw.execute("ROLLBACK")
                raw.close()
        else:
            with engine.connect() as conn:
                conn.execute(sa.text("LOCK TABLE tickets IN EXCLUSIVE MODE"))
                try:
                    yield
                finally:
                    conn.rollback()
    finally:
        engine.dispose()
