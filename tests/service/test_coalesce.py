"""tablequeue.service.coalesce: callers arriving while a batch is in flight ride on the next one,
each gets its own answer, and a failure reaches exactly the callers of its batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from tablequeue.service.coalesce import MAX_BATCH, Coalescer


class Gate:
    """A batch runner whose first batch waits until the test opens the gate."""

    def __init__(self, fail_first: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.opened = threading.Event()
        self.fail_first = fail_first

    def __call__(self, keys: Sequence[int]) -> list[int]:
        self.batches.append(list(keys))
        if len(self.batches) == 1:
            self.opened.wait(10)
            if self.fail_first:
                raise RuntimeError("database away")
        return [key * 10 for key in keys]


def _ask_all(coalescer: Coalescer[int, int], gate: Gate, n: int) -> dict[int, object]:
    answers: dict[int, object] = {}

    def ask(key: int) -> None:
        try:
            answers[key] = coalescer.ask(key)
        except RuntimeError as failure:
            answers[key] = failure

    first = threading.Thread(target=ask, args=(0,))
    first.start()
    while not gate.batches:  # the first caller leads and is now "in the database"
        time.sleep(0.001)
    others = [threading.Thread(target=ask, args=(key,)) for key in range(1, n)]
    for thread in others:
        thread.start()
    while len(coalescer._waiting) < n - 1:  # every later caller queued behind it
        time.sleep(0.001)
    gate.opened.set()
    for thread in [first, *others]:
        thread.join(10)
    return answers


def test_callers_arriving_during_a_batch_share_the_next() -> None:
    gate = Gate()
    coalescer = Coalescer(gate)
    answers = _ask_all(coalescer, gate, 20)
    assert answers == {key: key * 10 for key in range(20)}
    assert gate.batches[0] == [0]
    assert sorted(gate.batches[1]) == list(range(1, 20))  # one statement for nineteen
    assert len(gate.batches) == 2


def test_a_big_crowd_is_split_into_bounded_batches() -> None:
    gate = Gate()
    answers = _ask_all(Coalescer(gate), gate, MAX_BATCH + 11)
    assert answers == {key: key * 10 for key in range(MAX_BATCH + 11)}
    assert [len(batch) for batch in gate.batches] == [1, MAX_BATCH, 10]


def test_a_failure_reaches_its_batch_only() -> None:
    gate = Gate(fail_first=True)
    answers = _ask_all(Coalescer(gate), gate, 5)
    assert isinstance(answers.pop(0), RuntimeError)
    assert answers == {key: key * 10 for key in range(1, 5)}  # the next batch still ran


def test_alone_a_caller_runs_its_own_batch() -> None:
    runs: list[list[str]] = []
    coalescer: Coalescer[str, str] = Coalescer(lambda keys: runs.append(list(keys)) or
                                               [k.upper() for k in keys])
    assert coalescer.ask("a") == "A"
    assert coalescer.ask("b") == "B"
    assert runs == [["a"], ["b"]]


def test_a_runner_that_answers_the_wrong_count_is_an_error() -> None:
    coalescer: Coalescer[int, int] = Coalescer(lambda keys: [])
    with pytest.raises(ValueError):
        coalescer.ask(1)
