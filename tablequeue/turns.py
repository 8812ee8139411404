"""Long work on the worker's one thread, cut into short turns of the event loop.

Under gevent every connection shares one thread: while one greenlet runs, no other reads
its socket. A loop over thousands of items (a flush of every followed phone, a ping
sweep) must therefore hand the loop back often, measured in time, not in items: an item's
cost varies with the machine and the garbage it leaves, and a kiosk's command waits for
whatever turn is running when it arrives (docs/performance.md, "Phones following their
place")."""

from __future__ import annotations

import time

import gevent

BUDGET = 0.0003  # seconds one turn may run before every other ready greenlet goes first


def next_turn() -> None:
    """Wait for the event loop's next iteration: it polls for I/O and runs every greenlet
    that became ready before this one runs again (gevent.sleep(0) alone may resume this
    greenlet first, for up to the switch interval, 5 ms).

    Two details make "every" true. libev runs the ready watchers of an iteration last fed,
    first served: a zero timer at the default priority would resume this greenlet before
    the sockets that became readable in the same poll; at a lower priority it comes after
    them. And a readable socket's watcher only spawns its reader (tablequeue.live.detached),
    which starts from the loop's callback queue: the sleep(0) queues this greenlet behind
    those readers."""
    hub = gevent.get_hub()
    timer = hub.loop.timer(0.0, priority=-1)
    try:
        hub.wait(timer)
    finally:
        timer.close()  # what the watcher's own `with` does (its stubs do not declare it)
    gevent.sleep(0)


def pause() -> None:
    """Let others run: the loop's next iteration in a greenlet (the gevent worker's
    threads are greenlets too), an ordinary yield in a real thread (`flask run`)."""
    if isinstance(gevent.getcurrent(), gevent.Greenlet):
        next_turn()
    else:
        time.sleep(0)


class Slices:
    """Call `check()` between two items of a long loop: once the turn has run `budget`
    seconds, it pauses (everything ready runs) and a new turn starts."""

    __slots__ = ("budget", "_ends", "count")

    def __init__(self, budget: float = BUDGET) -> None:
        self.budget = budget
        self._ends = time.perf_counter() + budget
        self.count = 0  # pauses taken

    def check(self) -> None:
        if time.perf_counter() >= self._ends:
            self.count += 1
            pause()
            self._ends = time.perf_counter() + self.budget
