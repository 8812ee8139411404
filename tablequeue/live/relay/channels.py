"""Which sites' Redis channels a worker listens to: one channel per site,
`<REDIS_CHANNEL>:events:<site id>`, subscribed while the worker has a room for that site
(tablequeue.live.rooms) and for SITE_UNSUBSCRIBE_SECONDS after its last connection left,
so a worker never decodes the traffic of a site none of its screens shows, and a screen
that reconnects at once finds its room still current.

This is the book the relay's listener keeps (tablequeue.live.relay.pubsub); only the
listener sends SUBSCRIBE and UNSUBSCRIBE, on its one pub/sub connection."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from tablequeue.live.relay.resync import Picture
from tablequeue.live.rooms import Room
from tablequeue.outcomes import SiteId


def site_channel(events_channel: str, site: SiteId) -> str:
    """The channel of one site's events, under the relay's events channel."""
    return f"{events_channel}:{site}"


@dataclass(eq=False)
class Subscription:
    """One site's channel on this worker, and what its room's screens were told."""

    room: Room
    channel: str
    picture: Picture = field(default_factory=Picture)
    # Subscribed and resynced: the room's connections may be greeted (see RedisRelay.join).
    ready: threading.Event = field(default_factory=threading.Event)
    stale: bool = False  # may have missed events: resync before trusting the picture


class Channels:
    """The subscriptions of one worker, by site and by channel name."""

    def __init__(self, events_channel: str, linger: float) -> None:
        self.events_channel = events_channel
        self.linger = linger  # seconds an empty room stays subscribed
        self._by_site: dict[SiteId, Subscription] = {}
        self._by_channel: dict[bytes, Subscription] = {}
        self._asked: list[Subscription] = []  # to SUBSCRIBE, by the listener
        self._vacant: dict[SiteId, float] = {}  # site -> when its room emptied

    def want(self, room: Room) -> Subscription:
        """The room's subscription; a new one is queued for the listener to send."""
        self._vacant.pop(room.site, None)
        sub = self._by_site.get(room.site)
        if sub is not None and sub.room is room:
            return sub
        sub = Subscription(room, site_channel(self.events_channel, room.site))
        self._by_site[room.site] = sub
        self._by_channel[sub.channel.encode()] = sub
        self._asked.append(sub)
        return sub

    def get(self, site: SiteId) -> Subscription | None:
        return self._by_site.get(site)

    def heard(self, channel: bytes) -> Subscription | None:
        return self._by_channel.get(channel)

    def asked(self) -> list[Subscription]:
        """The subscriptions to send now (each once)."""
        asked, self._asked = self._asked, []
        return [sub for sub in asked if self._by_site.get(sub.room.site) is sub]

    def all(self) -> list[Subscription]:
        return list(self._by_site.values())

    def vacated(self, site: SiteId, now: float) -> None:
        if site in self._by_site:
            self._vacant[site] = now

    def expired(self, now: float) -> list[Subscription]:
        """Subscriptions whose room has been empty for `linger` seconds (each returned
        once): the caller closes the room if it is still empty, then `drop`s them."""
        due = [site for site, since in self._vacant.items() if now - since >= self.linger]
        for site in due:
            del self._vacant[site]
        return [sub for sub in map(self._by_site.get, due) if sub is not None]

    def drop(self, sub: Subscription) -> None:
        if self._by_site.get(sub.room.site) is sub:
            del self._by_site[sub.room.site]
            self._by_channel.pop(sub.channel.encode(), None)

    def __len__(self) -> int:
        return len(self._by_site)
