"""GET /metrics for Prometheus, only when METRICS_TOKEN is set (else the route does not
exist: 404), and only for `Authorization: Bearer <METRICS_TOKEN>` (else 404 too: a
scanner learns nothing).

Counting across gunicorn workers: prometheus_client's multiprocess mode. gunicorn.conf.py
points PROMETHEUS_MULTIPROC_DIR at an emptied directory before the workers fork; each
worker writes its values to its own memory-mapped files there, and whichever worker
answers a scrape adds up every worker's files. A worker that exits is marked dead (its
gauges leave, its counters stay in the totals).

The hooks below are what the rest of the code calls: one call per command, per broadcast
message (with the number of sockets it went to), per connection change. Without
METRICS_TOKEN each is a single `is None` test, and prometheus_client is never imported."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request

bp = Blueprint("metrics", __name__)
COMMAND_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
WAIT_BUCKETS = (30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 14400)
LOGIN_OUTCOMES = ("success", "failed", "throttled")


class _Series:
    """Every series, created once per worker."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.connections = Gauge(
            "tablequeue_connections", "Open websocket connections, by site (its slug; empty "
            "for a phone that follows no ticket yet) and role.", ["site", "role"],
            multiprocess_mode="livesum", registry=registry)
        self.commands = Counter(
            "tablequeue_commands", "Websocket commands handled, by command word and outcome.",
            ["command", "outcome"], registry=registry)
        self.command_seconds = Histogram(
            "tablequeue_command_seconds", "Time to handle one websocket command, reply and "
            "broadcast included, by command word.", ["command"], buckets=COMMAND_BUCKETS,
            registry=registry)
        self.deliveries = Counter(
            "tablequeue_broadcast_deliveries", "Broadcast messages written to websockets "
            "(one per receiving socket).", registry=registry)
        self.dropped = Counter(
            "tablequeue_slow_clients_dropped", "Websocket clients dropped because they "
            "stopped reading (backlog over the limit).", registry=registry)
        self.relay_up = Gauge(
            "tablequeue_relay_up", "1 when the Redis relay is subscribed (the lowest of all "
            "workers: 0 if any worker is cut off).", multiprocess_mode="livemin", registry=registry)
        self.resyncs = Counter(
            "tablequeue_relay_resyncs", "Resyncs of open screens after a relay gap.",
            registry=registry)
        self.catchups = Counter(
            "tablequeue_event_catchups", "Rooms that read missed numbered runs from the event "
            "log: a hole between two runs (gap), a quiet room behind the log (poll), a "
            "relay reconnect or resync request (reconnect).", ["how"], registry=registry)
        self.fallbacks = Counter(
            "tablequeue_event_state_fallbacks", "Rooms brought up to date from the state "
            "because the event log no longer had what they missed (trimmed, or restored).",
            registry=registry)
        self.wait = Histogram(
            "tablequeue_ticket_wait_seconds", "Wait of each claimed ticket, sign-in to claim.",
            buckets=WAIT_BUCKETS, registry=registry)
        self.logins = Counter(
            "tablequeue_logins", "Staff log-in attempts by outcome (success, failed, "
            "throttled).", ["outcome"], registry=registry)
        self._commands: dict[tuple[str, bool], Any] = {}
        self._timers: dict[str, Any] = {}

    def command(self, word: str, ok: bool, seconds: float) -> None:
        counter = self._commands.get((word, ok))
        if counter is None:
            counter = self.commands.labels(word, "success" if ok else "error")
            self._commands[(word, ok)] = counter
            self._timers[word] = self.command_seconds.labels(word)
        counter.inc()
        self._timers[word].observe(seconds)


_series: _Series | None = None


def enabled() -> bool:
    return _series is not None


# ---- hooks: cheap no-ops unless METRICS_TOKEN is set ----------------------------------

def connections(site: str, role: str, count: int) -> None:
    """This worker's connections of one role at one site (`site`: its slug)."""
    if _series is not None:
        _series.connections.labels(site, role).set(count)


def command(word: str, ok: bool, seconds: float) -> None:
    if _series is not None:
        _series.command(word, ok, seconds)


def delivered(sockets: int) -> None:
    if _series is not None and sockets:
        _series.deliveries.inc(sockets)


def dropped() -> None:
    if _series is not None:
        _series.dropped.inc()


def relay(up: bool) -> None:
    if _series is not None:
        _series.relay_up.set(1 if up else 0)


def resynced() -> None:
    if _series is not None:
        _series.resyncs.inc()


def catchup(how: str) -> None:
    """A room read runs it missed from the event log (`how`: gap, poll or reconnect)."""
    if _series is not None:
        _series.catchups.labels(how).inc()


def state_fallback() -> None:
    """A room fell back from the event log to the state (tablequeue.live.sequencer)."""
    if _series is not None:
        _series.fallbacks.inc()


def observe_events(events: list[Any]) -> None:
    """The wait of each ticket a command claimed: counted where the command ran (relayed
    copies of the event reach every worker and must not count again)."""
    if _series is None or not events:
        return
    from tablequeue.models import utcnow
    from tablequeue.outcomes import TicketClaimed

    for event in events:
        if isinstance(event, TicketClaimed):
            _series.wait.observe(max((utcnow() - event.ticket.start).total_seconds(), 0.0))


def login(outcome: str) -> None:
    if _series is not None:
        _series.logins.labels(outcome).inc()


# ---- the scrape ------------------------------------------------------------------------

class _Queue:
    """Tickets waiting and being served, per site: read from the database at scrape time
    (one grouped statement), no bookkeeping per ticket."""

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        waiting = GaugeMetricFamily("tablequeue_tickets_waiting", "Tickets waiting now, by "
                                    "site.", labels=["site"])
        serving = GaugeMetricFamily("tablequeue_tickets_serving", "Tickets being served now, "
                                    "by site.", labels=["site"])
        for slug, (waits, served) in sorted(_queue_by_site().items()):
            waiting.add_metric([slug], waits)
            serving.add_metric([slug], served)
        yield waiting
        yield serving


def _queue_by_site() -> dict[str, tuple[int, int]]:
    """{slug: (waiting, serving)} for every site, idle ones included."""
    from sqlalchemy import func, select

    from tablequeue.db import read_only
    from tablequeue.models import Site, Ticket, TicketStatus

    counted = (TicketStatus.WAITING, TicketStatus.SERVING)
    statement = (
        select(Site.slug, Ticket.status, func.count(Ticket.id))
        .outerjoin(Ticket, (Ticket.site_id == Site.id) & Ticket.status.in_(counted))
        .group_by(Site.slug, Ticket.status)
    )
    found: dict[str, tuple[int, int]] = {}
    with read_only() as connection:
        for slug, status, count in connection.execute(statement):
            waits, served = found.get(slug, (0, 0))
            if status == TicketStatus.WAITING:
                waits = count
            elif status == TicketStatus.SERVING:
                served = count
            found[slug] = (waits, served)
    return found


_own_registry: Any = None


def _collect() -> bytes:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        registry.register(_Queue())
        return generate_latest(registry)
    registry.register(_Queue())
    return generate_latest(registry) + generate_latest(_own_registry)


@bp.get("/metrics")
def scrape() -> Response:
    expected = f"Bearer {current_app.config['METRICS_TOKEN']}".encode()
    given = request.headers.get("Authorization", "").encode()
    if not hmac.compare_digest(given, expected):
        abort(404)
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(_collect(), mimetype=None, content_type=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """Series and route only with METRICS_TOKEN; one set of series per process."""
    global _series, _own_registry
    if not app.config.get("METRICS_TOKEN"):
        return
    if _series is None:
        from prometheus_client import CollectorRegistry

        # Multiprocess mode keeps values in files, not in a registry; in one process
        # (no PROMETHEUS_MULTIPROC_DIR) they live in this one.
        multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        _own_registry = None if multiprocess else CollectorRegistry()
        _series = _Series(_own_registry)
    app.register_blueprint(bp)
