"""The relay's shared settle fences (tablequeue.live.relay.fences): a caller returns only
once a fence published after it asked came back, however many share it."""

from __future__ import annotations

import threading
import time

import pytest

from tablequeue.live.relay.fences import Fences


class Wire:
    """Publishes into a list; the test plays the listener (`echo`)."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[str] = []
        self.fail = fail
        self.fences = Fences(self.publish)

    def publish(self, token: str) -> None:
        if self.fail:
            raise ConnectionError("redis away")
        self.sent.append(token)

    def echo(self, index: int) -> None:
        self.fences.arrived(self.sent[index])

    def wait_sent(self, count: int) -> None:
        deadline = time.monotonic() + 2
        while len(self.sent) < count and time.monotonic() < deadline:
            time.sleep(0.001)
        assert len(self.sent) == count


def settling(fences: Fences, timeout: float = 2.0) -> threading.Thread:
    thread = threading.Thread(target=fences.settle, args=(timeout,), daemon=True)
    thread.start()
    return thread


def test_callers_while_a_fence_is_out_share_the_next_one() -> None:
    wire = Wire()
    first = settling(wire.fences)
    wire.wait_sent(1)
    later = [settling(wire.fences) for _ in range(10)]
    time.sleep(0.05)
    assert len(wire.sent) == 1  # they wait for the fence out, which they cannot use
    wire.echo(0)
    first.join(1)
    assert not first.is_alive()
    wire.wait_sent(2)  # one fence, published after all of them asked, for all of them
    time.sleep(0.05)
    assert all(t.is_alive() for t in later) and len(wire.sent) == 2
    wire.echo(1)
    for thread in later:
        thread.join(1)
        assert not thread.is_alive()
    assert wire.fences.published == 2


def test_a_fence_published_before_a_caller_asked_does_not_release_it() -> None:
    wire = Wire()
    first = settling(wire.fences)
    wire.wait_sent(1)
    second = settling(wire.fences)
    time.sleep(0.02)
    wire.echo(0)
    first.join(1)
    time.sleep(0.05)
    assert second.is_alive()  # the echo of a fence older than its question
    wire.wait_sent(2)
    wire.echo(1)
    second.join(1)
    assert not second.is_alive()


def test_a_lost_fence_holds_callers_no_longer_than_their_timeout() -> None:
    wire = Wire()
    started = time.monotonic()
    wire.fences.settle(0.1)  # never echoed
    assert 0.1 <= time.monotonic() - started < 0.5
    later = settling(wire.fences, 0.5)  # the lost one is past its time: a new one goes
    wire.wait_sent(2)
    wire.echo(1)
    later.join(1)
    assert not later.is_alive()
    wire.echo(0)  # late: ignored


def test_a_failed_publish_is_raised_and_leaves_no_fence_out() -> None:
    wire = Wire(fail=True)
    with pytest.raises(ConnectionError):
        wire.fences.settle(1.0)
    wire.fail = False
    after = settling(wire.fences)
    wire.wait_sent(1)
    wire.echo(0)
    after.join(1)
    assert not after.is_alive()
