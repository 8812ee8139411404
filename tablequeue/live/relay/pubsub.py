"""The Redis relay: carries each site's events to the workers that have a room for that
site, over one pub/sub channel per site (tablequeue.live.relay.channels).

A worker publishes a command's events after commit, to the channel of their site, each
site's run with its number in the event log ("n"), and delivers nothing itself: it
delivers what it receives, its own runs included, through the sequencer
(tablequeue.live.sequencer), in number order, so every worker, on every host, sends a
site's screens the same sequence. A run that Redis lost (or its worker never published:
killed after its commit) is read from the log when the next one shows the hole, or by the
idle poll (tablequeue.live.eventwatch).

A worker subscribes to a site's channel when it gets the first connection of that site,
on its one pub/sub connection, and greets that connection only once Redis confirmed the
subscription and the room was read from the database (a resync: pub/sub is
at-most-once, and nothing was heard before). It unsubscribes SITE_UNSUBSCRIBE_SECONDS
after the site's last connection left, so it never decodes another site's traffic.
Publishing to a site it has no room for keeps nothing.

When the subscription breaks, the worker reconnects with backoff, subscribes again to
every site it has a room for and catches each up from the log
(tablequeue.live.relay.recover). When a publish fails, the run is delivered here at once,
and once Redis answers again this worker publishes a `resync` message on that site's
channel: every worker with a room there catches up. A `resync` on the events channel
itself (gunicorn's child_exit) makes every room of every worker catch up."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask

from tablequeue.extensions import Slot
from tablequeue.live.registry import Registry
from tablequeue.live.relay import codec
from tablequeue.live.relay.channels import site_channel
from tablequeue.live.relay.listener import TURN_WAIT, Listener, Turn
from tablequeue.live.relay.recover import from_state
from tablequeue.live.relay.resync_request import events_channel
from tablequeue.live.rooms import Room
from tablequeue.live.sequencer import by_site
from tablequeue.outcomes import Event, SiteId

log = logging.getLogger(__name__)

JOIN_WAIT = 2.0  # longest a site's first connection waits for its channel and resync
WAKE = "wake"  # on the fence channel: the listener has subscriptions to send


class RedisRelay(Listener):
    """Publishes to and listens on the sites' channels under `channel`; `run_with_app`
    wraps the listener in an app context (the resync reads the database)."""

    # ---- rooms (request greenlets) -----------------------------------------------------

    def join(self, room: Room) -> None:
        """Return once the room's channel is subscribed and the room resynced (bounded);
        while Redis is away at once: the room resyncs when it is back."""
        sub = self.channels.want(room)
        if sub.ready.is_set():
            return
        if self.state != "ok":  # the catch-up on its subscription starts from this number
            try:
                self.registry.sequencer.anchor_newest(room)
            except Exception:
                log.warning("relay: could not read the newest event of %r", room, exc_info=True)
            return
        self._wake()
        if not sub.ready.wait(JOIN_WAIT):
            log.warning("relay: %s not subscribed after %.0fs; serving, will resync once it "
                        "is", sub.channel, JOIN_WAIT)

    def vacated(self, room: Room) -> None:
        self.channels.vacated(room.site, time.monotonic())

    def _wake(self) -> None:
        """The listener waits on its connection: a message on our own fence channel wakes
        it to send the subscriptions asked for (only it may write to that connection)."""
        try:
            self._publisher.publish(self.fence_channel, WAKE)
        except redis.RedisError:
            pass  # down: the reconnect subscribes every room's channel

    # ---- publishing (request greenlets) ----------------------------------------------

    def publish(self, events: list[Event], reply: Callable[[], None]) -> None:
        """Send the events to their sites' channels, then run `reply` when they come back
        to this worker, just before they are delivered here (see registry.Relay). A site
        this worker has no room for sends nothing back: nothing to wait for. A numbered run
        that could not be published is delivered here at once (the other workers read it
        from the log: their poll, or this worker's RESYNC once Redis is back)."""
        token = uuid.uuid4().hex
        runs = list(by_site(events))
        coming = [(site, run[0].seq) for site, run in runs if self._hears(site)]
        heard = len(coming)
        turn = self._turns[token] = Turn(heard, token)
        keys = [(site, n) for site, n in coming if n]
        for key in keys:
            self._runs[key] = turn
        for site, n in keys:  # read from the log already (the poll): not heard again
            room = self.registry.room(site)
            if room is not None and (room.order.last or 0) >= n:
                self._runs.pop((site, n), None)
                turn.messages, heard = turn.messages - 1, heard - 1
        failed: list[tuple[SiteId, list[Event]]] = []
        for site, run in runs:
            try:
                self._publisher.publish(site_channel(self.channel, site),
                                        codec.encode(run, origin=token))
                self.stats["published"] += 1
            except redis.RedisError as exc:
                self._missed.add(site)
                failed.append((site, run))
                heard = 0  # a message of the turn may never come: answer now
                self.stats["publish_failures"] += 1
                log.warning("relay: publish failed (%s); every worker will catch up", exc)
        try:
            if not heard or self.state != "ok" or not turn.go.wait(TURN_WAIT):
                self._forget(turn, keys)
                try:
                    reply()  # nothing comes back to us (or not subscribed, or slow): answer now
                finally:
                    turn.done.set()  # a `before` that set `go` just now waits no longer
                self._offer_here(failed)
                return
            try:
                reply()
            finally:
                turn.done.set()
            # As in one process: the next frame of this connection is read only after this
            # command's broadcasts went out on this worker.
            turn.delivered.wait(TURN_WAIT)
        finally:
            self._forget(turn, keys)

    def _forget(self, turn: Turn, keys: list[tuple[SiteId, int]]) -> None:
        self._turns.pop(turn.token, None)
        for key in keys:
            if self._runs.get(key) is turn:
                del self._runs[key]

    def _offer_here(self, runs: list[tuple[SiteId, list[Event]]]) -> None:
        for site, run in runs:
            room = self.registry.room(site)
            if room is not None and run[0].seq:
                self.registry.sequencer.offer(room, run[0].seq, run)

    # ---- the sequencer's hooks (tablequeue.live.sequencer, under room.order.lock) ------

    def before(self, room: Room, n: int) -> None:
        """Our own run: its actor's reply first, whichever way the run came."""
        turn = self._runs.get((room.site, n))
        if turn is not None and not turn.go.is_set():
            turn.go.set()
            turn.done.wait(TURN_WAIT)

    def after(self, room: Room, n: int, events: list[Event]) -> None:
        sub = self.channels.get(room.site)
        if sub is not None and sub.room is room:
            for event in events:
                sub.picture.apply(event)
        turn = self._runs.pop((room.site, n), None)
        if turn is not None:
            turn.go.set()  # delivered before its publisher looked: it must not wait for it
            if turn.one_delivered():
                self._turns.pop(turn.token, None)

    def fallback(self, room: Room) -> None:
        """The log cannot serve the room: today's resync from the state (with its
        subscription's picture), anchored to the number read with it."""
        sub = self.channels.get(room.site)
        if sub is None or sub.room is not room:
            self.registry.sequencer.anchor_newest(room)
            return
        try:
            from_state(self.registry, room, sub.picture)
        except Exception:
            log.warning("relay: resync of %r failed, will retry", room, exc_info=True)
            self._stale.add(sub)  # the listener retries (from the log: it falls back here)
            return
        self.stats["resyncs"] += 1

    def _hears(self, site: SiteId) -> bool:
        sub = self.channels.get(site)
        return sub is not None and sub.ready.is_set()

    def settle(self, timeout: float = 1.0) -> None:
        """Wait until every event published before now has been delivered here.

        Called before a connection is greeted or bound (its greeting reads the database,
        and an event committed just before, still on its way through Redis, must not
        reach it afterwards as a duplicate) and before a reply that publishes nothing (a
        client that saw another's answer then hears, before its own, what that answer
        announced). Redis delivers one subscriber's messages in publish order, whatever
        their channels, so once our fence comes back, everything published before it has
        arrived."""
        if self.state != "ok":
            return
        try:
            self.fences.settle(timeout)  # one fence for every caller waiting for the next
        except redis.RedisError:
            pass  # the relay is going down; the resync that follows covers this connection

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
        return {"state": self.state, "channel": self.channel, "sites": len(self.channels),
                "stale": bool(self._stale), "fences": self.fences.published, **self.stats}

_RELAY: Slot[RedisRelay] = Slot("tablequeue.relay")


def relay_of(app: Flask) -> RedisRelay:
    """The app's Redis relay (installed only with REDIS_URL)."""
    return _RELAY.of(app)


def install(app: Flask, registry: Registry) -> RedisRelay | None:
    """With REDIS_URL, put a Redis relay under the registry (not yet listening: a serving
    worker starts it, see tablequeue.live.start; `flask` commands never do)."""
    url = app.config.get("REDIS_URL")
    if not url:
        return None

    def run_with_app(target: Callable[[], None]) -> None:
        with app.app_context():
            target()

    relay = RedisRelay(registry, url, events_channel(app.config["REDIS_CHANNEL"]), run_with_app,
                       linger=app.config["SITE_UNSUBSCRIBE_SECONDS"])
    registry.relay = relay
    _RELAY.put(app, relay)
    log.debug("relay: installed in process %d", os.getpid())
    return relay
