"""The relay's settle fences, shared by every caller that asked before one was published.

`RedisRelay.settle` must return only once every event published before it was called has
been delivered on this worker: it publishes a token on the worker's own fence channel and
waits for it to come back, since Redis forwards one subscriber's messages in the order it
received them. In a claim storm each of ~19 losers settles within a few milliseconds, and
one fence each cost ~20 PUBLISHes and listener wakes a ticket (bench, 3 workers: 21 fences
a raced ticket; shared, 8).

So at most one fence is out at a time. A caller joins the next fence, which is published
only after it joined (once the one out is back), so it still comes back after everything
published before the caller asked: the same guarantee, for one PUBLISH per group."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable


class Fence:
    """One published token and the callers waiting for it to come back."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex
        self.back = threading.Event()  # came back, or failed to go: its callers may return
        self.sent = False
        self.expires = 0.0  # once sent: a fence not back by then no longer holds the next


class Fences:
    """`settle(timeout)` is one caller's wait; `arrived(token)` is the listener's news."""

    def __init__(self, publish: Callable[[str], None]) -> None:
        self._publish = publish  # raises redis.RedisError when Redis is away
        self._lock = threading.Lock()
        self._out: Fence | None = None  # published, perhaps not back yet
        self._next: Fence | None = None  # gathering callers until `_out` is back
        self._waiting: dict[str, Fence] = {}  # by token, for the listener
        self.published = 0

    def arrived(self, token: str) -> None:
        """The listener read `token` on the fence channel (a stale or foreign one: no-op)."""
        fence = self._waiting.pop(token, None)
        if fence is not None:
            fence.back.set()

    def settle(self, timeout: float) -> None:
        """Return once a fence published after this call came back, or after `timeout`
        (a slow or lost fence: the caller answers anyway, as before coalescing).
        Raises what `publish` raised (its group's other callers return at once)."""
        deadline = time.monotonic() + timeout
        fence = self._join()
        while (ahead := self._send_or_wait(fence, timeout)) is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            ahead.back.wait(min(left, ahead.expires - time.monotonic()))
        fence.back.wait(max(0.0, deadline - time.monotonic()))

    def _join(self) -> Fence:
        with self._lock:
            if self._next is None:
                self._next = Fence()
                self._waiting[self._next.token] = self._next
            return self._next

    def _send_or_wait(self, fence: Fence, timeout: float) -> Fence | None:
        """Publish `fence` unless it is sent (None); while another is out, the fence to
        wait for first. One that is neither back nor in time holds nobody any more."""
        with self._lock:
            if fence.sent:
                return None
            ahead, now = self._out, time.monotonic()
            if ahead is not None and not ahead.back.is_set() and now < ahead.expires:
                return ahead
            if ahead is not None:
                self._waiting.pop(ahead.token, None)  # late or lost: forget it
            self._out, fence.sent, fence.expires = fence, True, now + timeout
        # Still open to joiners for one turn of the loop: a batch of losers answered by one
        # read wake together, and one of them alone would otherwise take this fence.
        time.sleep(0)
        with self._lock:
            self._next = None
        try:
            self._publish(fence.token)
        except Exception:
            fence.back.set()  # its group returns: the resync that follows covers them
            raise
        self.published += 1
        return None
