"""The Redis relay: carries every worker's events to every worker, over one pub/sub channel.

A worker publishes a command's events after commit and delivers nothing itself: it
delivers what it receives from Redis, its own events included. Redis forwards a
channel's messages to every subscriber in the one order it received them, so every
worker, on every host, sends its screens the same sequence; delivering one's own events
first would let two workers' displays see, say, `unpick 3` and `pick 3` in opposite
orders and end up disagreeing.

Pub/sub is at-most-once. When this worker's subscription breaks, it reconnects with
backoff and then resyncs its connections (tablequeue.live.relay.resync). When a publish fails, the
other workers may have missed it: once Redis answers again this worker publishes a
`resync` message and every worker resyncs."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from typing import Any, Callable

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tablequeue.live.relay import codec
from tablequeue.ops import metrics
from tablequeue.live.registry import Registry
from tablequeue.outcomes import Event
from tablequeue.live.relay.resync import Picture, resync
from tablequeue.live.relay.resync_request import RESYNC, events_channel

log = logging.getLogger(__name__)

BACKOFF_FIRST, BACKOFF_MAX = 0.1, 5.0  # seconds between reconnect attempts, doubling
PING_EVERY = 5.0  # a subscription silent this long is pinged; twice that without a pong is dead
POLL = 1.0  # how long one wait for a message lasts, so flags are looked at this often
TURN_WAIT = 2.0  # longest a reply waits for its events to come back through Redis


class _Turn:
    """The listener hands over to the publishing greenlet (`go`), waits for its reply
    (`done`), delivers the events and says so (`delivered`)."""

    def __init__(self) -> None:
        self.go, self.done, self.delivered = threading.Event(), threading.Event(), threading.Event()


class RedisRelay:
    """Publishes to and listens on `channel`; `run_with_app` wraps the listener in an app
    context (the resync reads the database)."""

    def __init__(self, registry: Registry, url: str, channel: str,
                 run_with_app: Callable[[Callable[[], None]], None]) -> None:
        self.registry, self.url, self.channel = registry, url, channel
        self.picture = Picture()
        self.state = "starting"  # "ok" while subscribed, "down" while reconnecting
        self.stats = {"published": 0, "publish_failures": 0, "received": 0,
                      "reconnects": 0, "resyncs": 0}
        self._run_with_app = run_with_app
        self._stale = False  # screens may have missed events: resync before trusting them
        self._missed = False  # a publish failed: every worker must resync
        self._ready = threading.Event()
        # A channel of this worker's own, on the same subscription: see settle().
        self.fence_channel = f"{channel}:fence:{uuid.uuid4().hex[:12]}"
        self._fences: dict[str, threading.Event] = {}
        self._turns: dict[str, _Turn] = {}  # our own messages on their way through Redis
        self._publisher = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=2, retry=Retry(NoBackoff(), 1)
        )

    # ---- publishing (request greenlets) ----------------------------------------------

    def publish(self, events: list[Event], reply: Callable[[], None]) -> None:
        """Send the events to Redis, then run `reply` when they come back to this worker,
        just before they are delivered here (see broadcast.Relay)."""
        token = uuid.uuid4().hex
        turn = self._turns[token] = _Turn()
        try:
            self._publisher.publish(self.channel, codec.encode(events, origin=token))
            self.stats["published"] += 1
        except redis.RedisError as exc:
            self._turns.pop(token, None)
            self._missed = True
            self.stats["publish_failures"] += 1
            log.warning("relay: publish failed (%s); every worker will resync", exc)
            reply()
            return
        if self.state != "ok" and self._turns.pop(token, None) is not None:
            reply()  # not subscribed: it will not come back; the resync covers this worker
            return
        if not turn.go.wait(TURN_WAIT) and self._turns.pop(token, None) is not None:
            reply()  # the subscription is slow or gone: answer anyway, the resync follows
            return
        turn.go.wait()
        try:
            reply()
        finally:
            turn.done.set()
        # As in one process: the next frame of this connection is read only after this
        # command's broadcasts went out on this worker.
        turn.delivered.wait(TURN_WAIT)

    def settle(self, timeout: float = 1.0) -> None:
        """Wait until every event published before now has been delivered here.

        Called before a connection is greeted or bound (its greeting reads the database,
        and an event committed just before, still on its way through Redis, must not
        reach it afterwards as a duplicate) and before a reply that publishes nothing (a
        client that saw another's answer then hears, before its own, what that answer
        announced). Redis delivers one subscriber's messages in publish order, so once
        our fence comes back, everything published before it has arrived."""
        if self.state != "ok":
            return
        token = uuid.uuid4().hex
        arrived = self._fences[token] = threading.Event()
        try:
            self._publisher.publish(self.fence_channel, token)
            arrived.wait(timeout)
        except redis.RedisError:
            pass  # the relay is going down; the resync that follows covers this connection
        finally:
            self._fences.pop(token, None)

    # ---- listening (one greenlet per worker) -----------------------------------------

    def start(self, wait: float = 5.0) -> None:
        """Start listening; wait (bounded) for the subscription so that the first
        connections of this worker miss nothing. Without Redis the worker still serves."""
        thread = threading.Thread(target=lambda: self._run_with_app(self._run),
                                  name="tablequeue-relay", daemon=True)
        thread.start()
        if not self._ready.wait(wait):
            log.warning("relay: not subscribed after %.0fs; serving, will resync once it is", wait)

    def health(self) -> dict[str, Any]:
        return {"state": self.state, "channel": self.channel, "stale": self._stale,
                **self.stats}

    def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            try:
                self._listen()
            except Exception as exc:  # redis errors, OSError, or a bug: never die silently
                if self.state == "ok":
                    backoff = BACKOFF_FIRST  # it was up: start the backoff over
                if not isinstance(exc, (redis.RedisError, OSError)):
                    log.exception("relay: listener failed")
                self._down(f"{type(exc).__name__}: {exc}")
            self._ready.set()  # the first attempt is over either way: let the worker serve
            time.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, BACKOFF_MAX)

    def _listen(self) -> None:
        client = redis.Redis.from_url(
            self.url, socket_connect_timeout=2, socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),  # no silent re-subscribe: we must notice the gap
        )
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self.channel, self.fence_channel)
            self._wait_subscribed(pubsub, 2)
            self._up()
            self._loop(pubsub)
        finally:
            pubsub.close()
            client.close()

    def _wait_subscribed(self, pubsub: Any, channels: int) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=POLL)
            if message and message["type"] == "subscribe" and message["data"] == channels:
                return
        raise redis.ConnectionError("no subscribe confirmation")

    def _up(self) -> None:
        first = self.state == "starting"
        self.state = "ok"
        self._stale = True  # the first time too: connections may predate the subscription
        log.info("relay: subscribed to %r on %s", self.channel, _safe(self.url))
        if not first:
            self.stats["reconnects"] += 1
        metrics.relay(True)
        self._ready.set()

    def _down(self, reason: str) -> None:
        if self.state != "down":
            log.warning("relay: lost (%s); reconnecting with backoff", reason)
        self.state = "down"
        metrics.relay(False)

    def _loop(self, pubsub: Any) -> None:
        last_heard = time.monotonic()
        pinged = False
        while True:
            if self._stale:
                self._resync()
            if self._missed:
                self._publisher.publish(self.channel, RESYNC)  # on failure: reconnect, retry
                self._missed = False
            message = pubsub.get_message(timeout=POLL)
            now = time.monotonic()
            if message is None:
                if now - last_heard > 2 * PING_EVERY and pinged:
                    raise redis.ConnectionError("no pong from Redis")
                if now - last_heard > PING_EVERY and not pinged:
                    pubsub.ping()
                    pinged = True
                continue
            last_heard, pinged = now, False
            if message["type"] != "message":
                continue
            if message["channel"] == self.fence_channel.encode():
                fence = self._fences.get(message["data"].decode())
                if fence is not None:
                    fence.set()
            else:
                self._receive(message["data"])

    def _receive(self, payload: bytes) -> None:
        self.stats["received"] += 1
        if payload == RESYNC.encode():
            self._stale = True
            return
        try:
            origin, events = codec.decode(payload)
        except codec.CodecError as exc:
            log.error("relay: dropped a message: %s", exc)
            return
        turn = self._turns.pop(origin, None)
        if turn is not None:  # our own: the actor's answer goes out first
            turn.go.set()
            turn.done.wait(TURN_WAIT)
        self.registry.deliver(events)
        for event in events:
            self.picture.apply(event)
        if turn is not None:
            turn.delivered.set()

    def _resync(self) -> None:
        try:
            touched = resync(self.registry, self.picture)
        except Exception:
            # Most likely the database is away too; keep serving the stream, retry soon.
            log.warning("relay: resync failed, will retry", exc_info=True)
            return
        self._stale = False
        self.stats["resyncs"] += 1
        metrics.resynced()
        log.info("relay: resynced (%d connections sent updates)", touched)


def _safe(url: str) -> str:
    """The URL without its password, for logs and /healthz."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def install(app: Any, registry: Registry) -> RedisRelay | None:
    """With REDIS_URL, put a Redis relay under the registry (not yet listening: a serving
    worker starts it, see tablequeue.live.start; `flask` commands never do)."""
    url = app.config.get("REDIS_URL")
    if not url:
        return None

    def run_with_app(target: Callable[[], None]) -> None:
        with app.app_context():
            target()

    relay = RedisRelay(registry, url, events_channel(app.config["REDIS_CHANNEL"]), run_with_app)
    registry.relay = relay
    app.extensions["tablequeue.relay"] = relay
    log.debug("relay: installed in process %d", os.getpid())
    return relay


def relay_of(app: Any) -> RedisRelay:
    relay: RedisRelay = app.extensions["tablequeue.relay"]
    return relay
