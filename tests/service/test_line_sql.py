"""The order rule's SQL agrees with the pure rule (tablequeue/service/order.py): hypothesis
drives a live server through arrivals in two lines, priority marks, `next`, `accept ID`,
put-backs and transfers, and after every step the server's orders (a line-aware
console's greeting) and every `next` it answers are what the pure functions say."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tablequeue.service.order import Waiting, across, head, order, take
from tests.kit.client import Client
from tests.kit.lines import add_lines, ask_lines, greeting, join
from tests.kit.live import LiveServer

RUN = 2
SERVER_ENV = {"RATE_LIMITS": "off", "PRIORITY_RUN": str(RUN)}

steps = st.lists(st.one_of(
    st.tuples(st.just("arrive"), st.integers(0, 1)),
    st.tuples(st.just("mark"), st.integers(0, 99)),
    st.tuples(st.just("next"), st.sampled_from(["complete", "requeue", "transfer"])),
    st.tuples(st.just("accept"), st.integers(0, 99)),
), min_size=1, max_size=25)


@dataclass
class Model:
    """The two lines as the pure rule sees them, and the ticket in service."""

    lines: dict[int, list[Waiting]]
    serving: tuple[Waiting, int] | None = None
    taken: list[int] = field(default_factory=list)

    def waiting(self) -> list[tuple[Waiting, int]]:
        return sorted(((t, line) for line, ts in self.lines.items() for t in ts),
                      key=lambda pair: pair[0].id)

    def leave(self, ticket_id: int) -> None:
        for line, tickets in self.lines.items():
            if any(t.id == ticket_id for t in tickets):
                gone = next(t for t in tickets if t.id == ticket_id)
                self.lines[line] = take(tickets, ticket_id)
                self.serving = (gone, line)
                self.taken.append(ticket_id)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=steps)
def test_the_servers_orders_and_nexts_are_the_pure_rules(
        server: LiveServer, script: list[tuple[str, object]]) -> None:
    server.reset()
    ids = add_lines(server, "Aid")
    first, second = ids["General"], ids["Aid"]
    model = Model({first: [], second: []})
    kiosk, staff = server.connect("/ws/kiosk"), server.connect("/ws/staff")
    try:
        staff.recv()  # taken
        token = server.add_staff("ann")
        staff.send(f"pick 1 {token}")
        assert staff.reply()[0] == "success pick 1"
        ask_lines(staff)
        for n, (verb, arg) in enumerate(script):
            _step(model, kiosk, staff, verb, arg, n, (first, second))
            _, _, orders = greeting(ask_lines(staff))
            assert orders == {line: order(model.lines[line], RUN) for line in (first, second)}
    finally:
        kiosk.close()
        staff.close()


def _step(model: Model, kiosk: Client, staff: Client, verb: str, arg: object, n: int,
          lines: tuple[int, int]) -> None:
    if verb == "arrive":
        line = lines[int(arg)]  # type: ignore[call-overload]  # an int by the strategy
        made = join(kiosk, line, f"v{n}@example.org", f"Visitor {n}")
        model.lines[line].append(Waiting(made["id"], False))
        return
    waiting = model.waiting()
    if verb == "mark" and waiting:
        chosen, line = waiting[int(arg) % len(waiting)]  # type: ignore[call-overload]
        assert staff.answer(f"priority {chosen.id} reason {n}") == f"success priority {chosen.id}"
        model.lines[line] = [replace(t, priority=True) if t.id == chosen.id else t
                             for t in model.lines[line]]
    elif verb == "accept" and waiting:
        chosen, _ = waiting[int(arg) % len(waiting)]  # type: ignore[call-overload]
        assert staff.answer(f"accept {chosen.id}") == f"success claimed {chosen.id}"
        model.leave(chosen.id)
        _finish(model, staff, "complete", lines)
    elif verb == "next":
        expected = across(head(model.lines[line], RUN) for line in lines)
        reply = staff.answer("next")
        if expected is None:
            assert reply == "error next nobody is waiting in your lines"
            return
        assert reply == f"success next {expected}"
        model.leave(expected)
        _finish(model, staff, str(arg), lines)


def _finish(model: Model, staff: Client, how: str, lines: tuple[int, int]) -> None:
    """Complete the ticket in service, put it back, or transfer it to the other line
    (while the shared limit allows; else complete it)."""
    assert model.serving is not None
    ticket, line = model.serving
    model.serving = None
    moved = model.taken.count(ticket.id) - 1  # each take after the first followed a move
    if how != "complete" and moved < 3:
        other = lines[1] if line == lines[0] else lines[0]
        command = f"requeue {ticket.id}" if how == "requeue" else \
            f"transfer {ticket.id} {other}"
        assert staff.answer(command).startswith("success "), command
        if how == "requeue":
            model.lines[line].append(ticket)
        else:
            model.lines[other].append(replace(ticket, passed=0))
        return
    assert staff.answer(f"complete {ticket.id}") == f"success complete {ticket.id}"
