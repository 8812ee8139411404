"""The Redis relay's listening side: the worker's one pub/sub connection and the greenlet
that reads it (tablequeue.live.relay.pubsub is the relay's publishing side and API).

Only this greenlet writes to the pub/sub connection: a site's first connection asks for
its channel (Channels.want) and wakes it with a message on the worker's own fence
channel; it sends the SUBSCRIBE, and on Redis's confirmation brings the room up to date
(tablequeue.live.relay.recover: a new room from the state, anchored to its number), then
lets the connection be greeted. Numbered runs go to the sequencer (in order, holes read
from the event log). It also drops the channels of rooms left empty for
SITE_UNSUBSCRIBE_SECONDS, catches up rooms that may have missed runs, and reconnects with
backoff when Redis goes away (then every room's channel is subscribed again and each room
catches up from the log on its confirmation)."""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tablequeue.live.registry import Registry
from tablequeue.live.relay import codec
from tablequeue.live.relay.channels import Channels, Subscription, site_channel
from tablequeue.live.relay.fences import Fences
from tablequeue.live.relay.recover import catch_up
from tablequeue.live.relay.resync_request import RESYNC
from tablequeue.ops import metrics
from tablequeue.outcomes import SiteId

log = logging.getLogger(__name__)

BACKOFF_FIRST, BACKOFF_MAX = 0.1, 5.0  # seconds between reconnect attempts, doubling
PING_EVERY = 5.0  # a subscription silent this long is pinged; twice that without a pong is dead
POLL = 1.0  # how long one wait for a message lasts, so flags are looked at this often
TURN_WAIT = 2.0  # longest a reply waits for its events to come back through Redis


class Turn:
    """The listener hands over to the publishing greenlet (`go`), waits for its reply
    (`done`), delivers the events and says so once the last of its messages is delivered
    (`delivered`): a command's events make one message per site."""

    def __init__(self, messages: int, token: str = "") -> None:
        self.go, self.done, self.delivered = threading.Event(), threading.Event(), threading.Event()
        self.messages = messages
        self.token = token

    def one_delivered(self) -> bool:
        """One of its messages was delivered here; True when that was the last."""
        self.messages -= 1
        if self.messages <= 0:
            self.delivered.set()
            return True
        return False


class Listener:
    """The state the relay's two sides share, and the listening greenlet's work."""

    def __init__(self, registry: Registry, url: str, channel: str,
                 run_with_app: Callable[[Callable[[], None]], None], linger: float) -> None:
        self.registry, self.url, self.channel = registry, url, channel
        self.channels = Channels(channel, linger)
        self.state = "starting"  # "ok" while subscribed, "down" while reconnecting
        self.stats = {"published": 0, "publish_failures": 0, "received": 0,
                      "reconnects": 0, "resyncs": 0, "caught_up": 0}
        self._run_with_app = run_with_app
        self._stale: set[Subscription] = set()  # rooms that may have missed events
        self._missed: set[SiteId] = set()  # a publish failed: every worker must resync these
        self._ready = threading.Event()
        # A channel of this worker's own, on the same subscription: see settle() and join().
        self.fence_channel = f"{channel}:fence:{uuid.uuid4().hex[:12]}"
        self.fences = Fences(self._send_fence)
        self._turns: dict[str, Turn] = {}  # our own messages on their way through Redis
        # ... and our own numbered runs, by (site, number): whichever way a run comes (Redis
        # or the log), the sequencer's `before` hands over to its reply.
        self._runs: dict[tuple[SiteId, int], Turn] = {}
        self._publisher = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=2, retry=Retry(NoBackoff(), 1)
        )

    def _send_fence(self, token: str) -> None:
        self._publisher.publish(self.fence_channel, token)

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
            self.channels.asked()  # every room's channel is in this first SUBSCRIBE
            rooms = [sub.channel for sub in self.channels.all()]
            pubsub.subscribe(self.fence_channel, self.channel, *rooms)
            self._loop(pubsub)
        finally:
            pubsub.close()
            client.close()

    def _subscribed(self, channel: bytes) -> None:
        """Redis confirmed a subscription: ours (the relay is up), or a site's (its room
        resyncs, then its first connections are greeted)."""
        if channel == self.fence_channel.encode():
            self._up()
            return
        sub = self.channels.heard(channel)
        if sub is not None:
            self._catch_up(sub)

    def _up(self) -> None:
        first = self.state == "starting"
        self.state = "ok"
        log.info("relay: subscribed to %r on %s", self.fence_channel, safe_url(self.url))
        if not first:
            self.stats["reconnects"] += 1
        metrics.relay(True)
        self._ready.set()

    def _down(self, reason: str) -> None:
        if self.state != "down":
            log.warning("relay: lost (%s); reconnecting with backoff", reason)
        self.state = "down"
        self._stale.clear()  # every room resyncs when its channel is subscribed again
        for sub in self.channels.all():
            sub.ready.clear()
        metrics.relay(False)

    def _loop(self, pubsub: Any) -> None:
        last_heard = swept = time.monotonic()
        pinged = False
        while True:
            self._tend(pubsub)
            message = pubsub.get_message(timeout=POLL)
            now = time.monotonic()
            if now - swept >= POLL:
                swept = now
                self._unsubscribe_vacant(pubsub, now)
            if message is None:
                if now - last_heard > 2 * PING_EVERY and pinged:
                    raise redis.ConnectionError("no pong from Redis")
                if now - last_heard > PING_EVERY and not pinged:
                    pubsub.ping()
                    pinged = True
                continue
            last_heard, pinged = now, False
            if message["type"] == "subscribe":
                self._subscribed(message["channel"])
            elif message["type"] == "message":
                self._heard(message["channel"], message["data"])

    def _tend(self, pubsub: Any) -> None:
        """Between two messages: send the subscriptions asked for, resync the rooms that
        may have missed events, ask every worker to resync after a failed publish. Each is
        one test when there is nothing to do (this runs once per message)."""
        asked = self.channels.asked()
        if asked:
            pubsub.subscribe(*(sub.channel for sub in asked))
        if self._stale:
            for sub in list(self._stale):
                self._catch_up(sub)
        while self._missed:  # on failure: reconnect, and the sites stay missed
            site = next(iter(self._missed))
            self._publisher.publish(site_channel(self.channel, site), RESYNC)
            self._missed.discard(site)

    def _unsubscribe_vacant(self, pubsub: Any, now: float) -> None:
        """Rooms empty for SITE_UNSUBSCRIBE_SECONDS: closed, and their channels dropped."""
        gone = []
        for sub in self.channels.expired(now):
            if self.registry.close(sub.room):
                self.channels.drop(sub)
                self._stale.discard(sub)
                gone.append(sub.channel)
        if gone:
            pubsub.unsubscribe(*gone)

    def _heard(self, channel: bytes, payload: bytes) -> None:
        if channel == self.fence_channel.encode():
            self.fences.arrived(payload.decode())
            return
        self.stats["received"] += 1
        if channel == self.channel.encode():  # gunicorn's child_exit: every room resyncs
            if payload == RESYNC.encode():
                self._stale.update(s for s in self.channels.all() if s.ready.is_set())
            return
        sub = self.channels.heard(channel)
        if sub is None:  # unsubscribed a moment ago: its room is gone
            return
        if payload == RESYNC.encode():
            self._stale.add(sub)
            return
        self._receive(sub, payload)

    def _receive(self, sub: Subscription, payload: bytes) -> None:
        try:
            origin, n, events = codec.decode(payload)
        except codec.CodecError as exc:
            log.error("relay: dropped a message: %s", exc)
            return
        if n:  # numbered: in order, holes filled from the log (tablequeue.live.sequencer)
            self.registry.sequencer.offer(sub.room, n, events)
            return
        # Unnumbered (the floor nudge; an older worker's run): delivered as it comes.
        turn = self._turns.get(origin)
        if turn is not None and not turn.go.is_set():  # our own: the actor's answer first
            turn.go.set()
            turn.done.wait(TURN_WAIT)
        self.registry.deliver(events)
        for event in events:
            sub.picture.apply(event)
        if turn is not None and turn.one_delivered():
            self._turns.pop(origin, None)

    def _catch_up(self, sub: Subscription) -> None:
        """One room up to date (from the log, else from the state), its channel subscribed:
        then it is ready (its first connections are greeted). If that failed it stays
        stale, retried at each message."""
        try:
            how = catch_up(self.registry, sub)
        except Exception:
            # Most likely the database is away too; keep serving the stream, retry soon.
            log.warning("relay: catching up %r failed, will retry", sub.room, exc_info=True)
            self._stale.add(sub)
            return
        self._stale.discard(sub)
        sub.ready.set()
        self.stats["resyncs" if how == "state" else "caught_up"] += 1


def safe_url(url: str) -> str:
    """The URL without its password, for logs and /healthz."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
