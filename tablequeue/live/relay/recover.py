"""Bringing a room up to date after its Redis subscription may have missed runs: from the
event log when it can, from the state when it must (issue 27, docs/design-27.md §2).

- A room with a number (`Room.order.last`) reads what came after it from the log and
  delivers it through the sequencer: exact history, so a console cut off from Redis
  hears each `new` and then its `claimed`, as if it had never been away.
- A room without one (its channel's first SUBSCRIBE), or one the log cannot serve
  (trimmed, or a restored database) is resynced from the state
  (tablequeue.live.relay.resync) under `room.order.lock`, and anchored to the number read
  in the same snapshot: the runs after it are delivered, none before it twice.

A reconnect, a site's RESYNC message and gunicorn's child_exit RESYNC all come here."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tablequeue.live.relay.resync import Picture, resync
from tablequeue.live.rooms import Room
from tablequeue.live.sequencer import anchor_held
from tablequeue.ops import metrics

if TYPE_CHECKING:
    from tablequeue.live.registry import Registry
    from tablequeue.live.relay.channels import Subscription

log = logging.getLogger(__name__)


def catch_up(registry: Registry, sub: Subscription) -> str:
    """Bring the subscription's room up to date; "log" or "state", how. Raises when the
    database is away (the caller retries)."""
    room = sub.room
    if room.order.last is not None:
        if registry.sequencer.fill(room, "reconnect", whole=True):
            return "log"
        return "state"  # fill fell back (the relay's `fallback`, below)
    from_state(registry, room, sub.picture)
    return "state"


def from_state(registry: Registry, room: Room, picture: Picture) -> int:
    """Today's resync, under the room's lock, then anchored to its snapshot's number.
    Returns how many connections were sent something."""
    with registry.sequencer.held(room):
        touched, seq = resync(registry, room, picture)
        anchor_held(room, seq)
    metrics.resynced()
    log.info("relay: resynced %r from the state (%d connections sent updates; at event %d)",
             room, touched, seq)
    return touched
