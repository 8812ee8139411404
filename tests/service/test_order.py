"""The order rule of a line (tablequeue/service/order.py, docs/lines.md) as properties: for
any sequence of arrivals, priority marks and takes, no normal ticket is passed by more
than PRIORITY_RUN later priority tickets, each group leaves in arrival order, and the
computed order is what taking heads one after another gives."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from tablequeue.service.order import Waiting, across, head, head_of, order, positions, take

# An operation: ("arrive",) a normal ticket; ("mark", k) the k-th waiting ticket (mod the
# line's length) becomes priority; ("next",) the head leaves; ("accept", k) any ticket
# leaves (staff may take any waiting ticket by its id).
ops = st.lists(st.one_of(
    st.just(("arrive",)),
    st.tuples(st.just("mark"), st.integers(0, 1000)),
    st.just(("next",)),
), max_size=80)
runs = st.integers(1, 5)


@dataclass
class Line:
    """One line driven through order.py, recording what each take did."""

    run: int
    tickets: list[Waiting] = field(default_factory=list)
    next_id: int = 1
    # For every normal ticket: the later priority tickets taken while it waited.
    passed_by: dict[int, int] = field(default_factory=dict)

    def arrive(self) -> None:
        self.tickets.append(Waiting(self.next_id, False))
        self.passed_by[self.next_id] = 0
        self.next_id += 1

    def mark(self, k: int) -> None:
        if self.tickets:
            chosen = self.tickets[k % len(self.tickets)]
            self.tickets = [replace(t, priority=True) if t == chosen else t
                            for t in self.tickets]

    def leave(self, taken: int) -> Waiting:
        gone = next(t for t in self.tickets if t.id == taken)
        if gone.priority:
            for t in self.tickets:
                if not t.priority and t.id < taken:
                    self.passed_by[t.id] += 1
        self.tickets = take(self.tickets, taken)
        return gone


def drive(run: int, steps: list[tuple[object, ...]]) -> tuple[Line, list[Waiting]]:
    line, taken = Line(run), []
    for step in steps:
        if step[0] == "arrive":
            line.arrive()
        elif step[0] == "mark":
            line.mark(int(step[1]))  # type: ignore[call-overload]  # ints by the strategy
        else:
            chosen = head(line.tickets, run)
            if chosen is None:
                continue
            waiting_before = list(line.tickets)
            gone = line.leave(chosen)
            same_group = [t.id for t in waiting_before if t.priority == gone.priority]
            assert gone.id == min(same_group), "each group leaves in arrival order"
            taken.append(gone)
        for t in line.tickets:
            if not t.priority:
                assert line.passed_by[t.id] <= run, "passed by too many priority tickets"
                assert t.passed == line.passed_by[t.id]
    return line, taken


@settings(max_examples=400, deadline=None)
@given(runs, ops)
def test_nobody_is_passed_more_than_run_times_and_groups_keep_arrival_order(
        run: int, steps: list[tuple[object, ...]]) -> None:
    drive(run, steps)


def naive_order(tickets: list[Waiting], run: int) -> list[int]:
    """Heads taken one after another: the definition `order` computes faster."""
    line, taken = list(tickets), []
    while line:
        chosen = head(line, run)
        assert chosen is not None
        taken.append(chosen)
        line = take(line, chosen)
    return taken


@settings(max_examples=400, deadline=None)
@given(runs, ops)
def test_the_order_is_the_heads_taken_one_after_another(
        run: int, steps: list[tuple[object, ...]]) -> None:
    line, _ = drive(run, steps)
    computed = order(line.tickets, run)
    assert computed == naive_order(line.tickets, run)
    assert (computed[0] if computed else None) == head(line.tickets, run)
    assert positions(line.tickets, run) == {t: i for i, t in enumerate(computed)}


waiting_lines = st.lists(
    st.builds(Waiting, id=st.integers(1, 60), priority=st.booleans(),
              passed=st.integers(0, 7)),
    max_size=30, unique_by=lambda t: t.id)


@settings(max_examples=400, deadline=None)
@given(runs, waiting_lines)
def test_any_state_orders_like_the_heads_taken_one_after_another(
        run: int, tickets: list[Waiting]) -> None:
    """Also from states a line reaches by `accept ID`, put-backs and transfers (counts
    over the run, a ticket back with a count lower than a later one's)."""
    assert order(tickets, run) == naive_order(tickets, run)


@given(runs, waiting_lines, st.integers(0, 100))
def test_an_accepted_priority_ticket_passes_the_normal_tickets_before_it(
        run: int, tickets: list[Waiting], k: int) -> None:
    if not tickets:
        return
    taken = tickets[k % len(tickets)]
    after = {t.id: t for t in take(tickets, taken.id)}
    for t in tickets:
        if t.id == taken.id:
            assert t.id not in after
        elif taken.priority and not t.priority and t.id < taken.id:
            assert after[t.id].passed == t.passed + 1
        else:
            assert after[t.id] == t


def test_the_issue_example() -> None:
    """PRIORITY_RUN=2, arrivals N1 N2 P1 P2 P3: P1 P2 N1 N2 P3."""
    n1, n2, p1, p2, p3 = (Waiting(1, False), Waiting(2, False), Waiting(3, True),
                          Waiting(4, True), Waiting(5, True))
    assert order([n1, n2, p1, p2, p3], 2) == [3, 4, 1, 2, 5]
    line = Line(2)
    for _ in range(5):
        line.arrive()
    line.tickets = [replace(t, priority=t.id >= 3) for t in line.tickets]
    taken = []
    while line.tickets:
        chosen = head(line.tickets, 2)
        assert chosen is not None
        taken.append(line.leave(chosen).id)
    assert taken == [3, 4, 1, 2, 5]


def test_a_due_normal_ticket_goes_before_an_earlier_priority_ticket() -> None:
    """Once passed `run` times, the normal tickets are next, even before a priority ticket
    that arrived before them (it never passed them)."""
    assert head([Waiting(1, True), Waiting(2, False, passed=3)], 3) == 2
    assert head([Waiting(1, True), Waiting(2, False, passed=2)], 3) == 1


def test_head_of_and_across() -> None:
    assert head_of(None, None, False) is None
    assert head_of(4, None, False) == 4
    assert head_of(4, 2, False) == 2
    assert head_of(4, 2, True) == 4
    assert head_of(None, 2, True) == 2
    assert across([None, 7, 3, None]) == 3
    assert across([]) is None
