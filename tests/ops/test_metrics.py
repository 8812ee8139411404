"""/metrics on a live server: hidden without the token, and counting across every worker
(run 2 starts three workers per server; run 1 has one: there the sums are one worker's)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.kit.client import Client, new_ticket
from tests.kit.live import LiveServer
from tests.kit.new_site import add_site, admin_token

TOKEN = "metrics-token-for-tests-0123456789"
SERVER_ENV = {"METRICS_TOKEN": TOKEN}
WORKERS = (int(os.environ.get("TEST_WEB_CONCURRENCY", "3"))
           if os.environ.get("TEST_REDIS_URL") else 1)


def _get(server: LiveServer, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def scrape(server: LiveServer) -> dict[str, float]:
    status, text = _get(server, "/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, text + server.log()[-3000:]
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token-wrong-token"},
                                     {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}])
def test_metrics_need_the_bearer_token(fresh: LiveServer, headers: dict[str, str]) -> None:
    status, body = _get(fresh, "/metrics", headers)
    assert status == 404 and "tablequeue_" not in body


def _workers_holding(server: LiveServer, want: int) -> dict[int, int]:
    """{worker pid: kiosk connections} from /healthz, asked until every worker holds `want`
    (or 30 s): a client's handshake ends before its worker has counted the connection (the
    first kiosk of a worker waits for its site's Redis subscription first)."""
    seen: dict[int, int] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
            len(seen) < WORKERS or any(n != want for n in seen.values())):
        status, body = _get(server, "/healthz")
        health = json.loads(body)
        seen[health["worker"]] = health["connections"]["kiosk"]
        time.sleep(0.05)
    return seen


def _workers(server: LiveServer) -> list[int]:
    """The gunicorn master's children: its workers."""
    assert server.process is not None
    children = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if entry.name.isdigit() and int(stat.rsplit(")", 1)[1].split()[1]) == server.process.pid:
            children.append(int(entry.name))
    return sorted(children)


@contextmanager
def _only(worker: int, others: list[int]) -> Iterator[None]:
    """Every other worker paused (SIGSTOP): new connections can only land on `worker`.
    Workers share one listening socket, and whichever wakes first takes every connection
    of a quick burst; pausing the rest is how the test puts connections on each worker."""
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)


def test_commands_are_counted_on_every_worker(fresh: LiveServer,
                                              connect: Callable[[str], Client]) -> None:
    before = scrape(fresh)
    workers = _workers(fresh)
    assert len(workers) == WORKERS
    kiosks: list[Client] = []
    for worker in workers:
        with _only(worker, [w for w in workers if w != worker]):
            kiosks += [connect("/ws/kiosk") for _ in range(12)]
    holding = _workers_holding(fresh, 12)
    assert holding == {worker: 12 for worker in workers}, holding
    for n, kiosk in enumerate(kiosks):
        assert kiosk.ask(f"new m{n}@example.org Metric {n}").startswith("success new ")
        assert kiosk.ask("query nobody@example.org").startswith("error query ")
    kiosks[0].ask("frobnicate")
    key = 'tablequeue_commands_total{command="%s",outcome="%s"}'
    # Whichever worker answers the scrape adds up all of them: ask several times.
    for _ in range(2 * WORKERS):
        now = scrape(fresh)
        assert (now[key % ("new", "success")] - before.get(key % ("new", "success"), 0)
                == len(kiosks))
        assert (now[key % ("query", "error")] - before.get(key % ("query", "error"), 0)
                == len(kiosks))
        assert now[key % ("unknown", "error")] - before.get(key % ("unknown", "error"), 0) == 1
        assert now['tablequeue_connections{role="kiosk",site="main"}'] == len(kiosks)
        assert now['tablequeue_tickets_waiting{site="main"}'] == len(kiosks)
        count = now['tablequeue_command_seconds_count{command="new"}']
        assert (count - before.get('tablequeue_command_seconds_count{command="new"}', 0)
                == len(kiosks))


def test_claims_broadcasts_and_logins(fresh: LiveServer, desk: Callable[..., object],
                                      connect: Callable[[str], Client]) -> None:
    before = scrape(fresh)
    ada = desk("ada", 1)
    display = connect("/ws/display")
    kiosk = connect("/ws/kiosk")
    assert kiosk.ask("new w@example.org Waiter").startswith("success new ")
    ticket = int(re.search(r'"id":(\d+)', ada.until(lambda m: m.startswith("new "))[0]).group(1))
    assert ada.answer(f"accept {ticket}").startswith("success ")
    display.sync()
    assert fresh.login("ada", "wrong-password-1") is None
    assert fresh.login("ada") is not None
    now = scrape(fresh)
    grew = {k: now[k] - before.get(k, 0) for k in now}
    assert grew["tablequeue_ticket_wait_seconds_count"] == 1
    assert grew['tablequeue_ticket_wait_seconds_bucket{le="30.0"}'] == 1
    # new -> ada's console; claimed -> ada's console and the display.
    assert grew["tablequeue_broadcast_deliveries_total"] >= 3
    assert grew['tablequeue_logins_total{outcome="failed"}'] == 1
    assert grew['tablequeue_logins_total{outcome="success"}'] == 1
    if os.environ.get("TEST_REDIS_URL"):
        assert now["tablequeue_relay_up"] == 1


def test_a_dead_workers_connections_leave_the_sums(fresh: LiveServer,
                                                   connect: Callable[[str], Client]) -> None:
    """SIGKILL a worker holding kiosks: its gauge file must leave the sums (gunicorn's
    child_exit -> mark_process_dead), or /metrics counts its connections forever."""
    workers = _workers(fresh)
    victim = workers[0]
    with _only(victim, workers[1:]):
        kiosks = [connect("/ws/kiosk") for _ in range(5)]
    for kiosk in kiosks:  # each is registered once its command is answered
        assert kiosk.ask("query nobody@example.org").startswith("error query ")
    assert scrape(fresh)['tablequeue_connections{role="kiosk",site="main"}'] == 5
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while victim in _workers(fresh) or len(_workers(fresh)) < WORKERS:
        assert time.monotonic() < deadline, "gunicorn did not replace the worker"
        time.sleep(0.1)
    seen: list[float] = []
    while time.monotonic() < deadline:
        try:
            # No series at all is 0: no live worker has a kiosk connection.
            seen.append(scrape(fresh).get('tablequeue_connections{role="kiosk",site="main"}', 0.0))
        except (OSError, AssertionError):  # the replacement is still booting
            pass
        if len(seen) >= 2 * WORKERS and all(value == 0 for value in seen[-2 * WORKERS:]):
            return
        time.sleep(0.1)
    raise AssertionError(f"the dead worker's 5 connections stayed counted: {seen[-6:]}")


def test_the_queue_and_connection_gauges_are_per_site(fresh: LiveServer,
                                                      connect: Callable[[str], Client]) -> None:
    """Each site's waiting and serving tickets and open screens under its own `site` label;
    an idle site is listed with zeros."""
    annex, _ = add_site(fresh)
    idle, _ = add_site(fresh, "idle")
    token = admin_token(fresh, "root")
    kiosk, display = connect(f"/s/{annex}/ws/kiosk"), connect(f"/s/{annex}/ws/display")
    console = connect(f"/s/{annex}/ws/staff")
    assert console.recv() == "taken"
    assert console.ask(f"pick 1 {token}") == "success pick 1"
    first, _ = new_ticket(kiosk, "a@example.org", "A")
    new_ticket(kiosk, "b@example.org", "B")
    assert console.answer(f"accept {first['id']}") == f"success claimed {first['id']}"
    new_ticket(connect("/ws/kiosk"), "c@example.org", "C")  # the default site's
    display.sync()
    for _ in range(2 * WORKERS):  # whichever worker answers adds up all of them
        now = scrape(fresh)
        assert now[f'tablequeue_tickets_waiting{{site="{annex}"}}'] == 1
        assert now[f'tablequeue_tickets_serving{{site="{annex}"}}'] == 1
        assert now['tablequeue_tickets_waiting{site="main"}'] == 1
        assert now[f'tablequeue_tickets_waiting{{site="{idle}"}}'] == 0
        for role in ("kiosk", "display", "staff"):
            assert now[f'tablequeue_connections{{role="{role}",site="{annex}"}}'] == 1, role
