"""Calls that arrive while one is in flight ride together on the next one.

A claim storm's losers all ask the database the same kind of question within a few
milliseconds: twenty staff connections, one `accept` each, one ticket. On PostgreSQL each
question alone costs a round trip and a pooled connection; twenty at once also overflow
the pool, and an overflow connection is a new server process, opened and closed per
question. A `Coalescer` turns them into one statement: the first caller becomes the
leader and runs the batch of everyone waiting; whoever arrives while its statement is out
waits for the leader to finish, and then one of them leads the next batch with all who
came meanwhile. With SQLite a statement never yields, so every batch is of one.

Each caller's answer is still read by a statement that started after the caller asked."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

K = TypeVar("K")
R = TypeVar("R")

# A bigger crowd is split: one statement (and the wait for it) stays small.
MAX_BATCH = 32


@dataclass
class _Slot(Generic[K, R]):
    key: K
    ready: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class Coalescer(Generic[K, R]):
    """`run(keys)` answers a batch in order; `ask(key)` is one caller's share of it."""

    def __init__(self, run: Callable[[Sequence[K]], Sequence[R]]) -> None:
        self._run = run
        self._lock = threading.Lock()
        self._waiting: list[_Slot[K, R]] = []
        self._leading = False

    def ask(self, key: K) -> R:
        slot: _Slot[K, R] = _Slot(key)
        with self._lock:
            self._waiting.append(slot)
        while not slot.done:
            batch = self._lead()
            if batch:
                self._answer(batch)
            else:
                slot.ready.wait()
                slot.ready.clear()
        if slot.error is not None:
            raise slot.error
        # Done without an error: the leader set the result (None may be an R, so no test).
        return cast(R, slot.result)

    def _lead(self) -> list[_Slot[K, R]]:
        """Become the leader if none is: take the waiting callers (up to MAX_BATCH)."""
        with self._lock:
            if self._leading or not self._waiting:
                return []
            self._leading = True
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            return batch

    def _answer(self, batch: list[_Slot[K, R]]) -> None:
        try:
            results = self._run([slot.key for slot in batch])
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except BaseException as failure:  # each caller answers it as its own (unavailable...)
            for slot in batch:
                slot.error = failure
        finally:
            with self._lock:
                self._leading = False
                successor = self._waiting[0] if self._waiting else None
            for slot in batch:
                slot.done = True
                slot.ready.set()
            if successor is not None:
                successor.ready.set()  # it leads the next batch: those who came meanwhile
