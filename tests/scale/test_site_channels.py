"""One Redis channel per site (tablequeue/live/relay/channels.py, listener.py): a worker
listens to a site's channel only while it has screens of that site (and
SITE_UNSUBSCRIBE_SECONDS after), as Redis itself reports (PUBSUB NUMSUB); a room whose
channel is subscribed again starts from the database (a resync), and every room catches
up from the event log after Redis comes back (or before, by its idle poll)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tablequeue.outcomes import SiteId
from tests.kit.client import Client
from tests.kit.live import LiveServer
from tests.kit.new_site import add_site, admin_token
from tests.kit.scale import PrivateRedis

SERVER_ENV = {"SITE_UNSUBSCRIBE_SECONDS": "1", "WEB_CONCURRENCY": "3"}


@pytest.fixture(scope="module")
def bus() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(os.environ["TEST_REDIS_URL"])
    yield client
    client.close()


def _channel(server: LiveServer, site: SiteId) -> str:
    return f"{server.env['REDIS_CHANNEL']}:events:{site}"


def _listeners(bus: redis.Redis, channel: str) -> int:
    """How many connections Redis says listen to `channel` (one per worker at most)."""
    return int(dict(bus.pubsub_numsub(channel))[channel.encode()])


def _until(check: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _silently(server: LiveServer, token: str, table: int, site: SiteId) -> None:
    """`pick` committed without publishing its events (this process has no relay): a
    change the screens can learn of only from the database."""
    from tablequeue.service import tables
    from tablequeue.service.identity import hash_token

    with server.app.app_context():
        assert tables.pick(hash_token(token), table, site=site).refusal is None


def test_a_worker_listens_to_a_site_only_while_it_has_screens_there(
        fresh: LiveServer, connect: Callable[[str], Client], bus: redis.Redis) -> None:
    slug, site = add_site(fresh, wait=False)  # no probe: no worker has listened to it yet
    channel = _channel(fresh, site)
    display = connect(f"/s/{slug}/ws/display")
    display.sync()
    # Subscribed before the display was greeted: exactly the one worker that holds it.
    assert _listeners(bus, channel) == 1
    assert channel.encode() in bus.pubsub_channels(f"{fresh.env['REDIS_CHANNEL']}:events:*")
    display.close()
    assert _until(lambda: _listeners(bus, channel) == 0)
    assert channel.encode() not in bus.pubsub_channels(f"{fresh.env['REDIS_CHANNEL']}:events:*")
    # Another site's screens subscribe nobody to this one.
    elsewhere = connect("/ws/display")
    elsewhere.sync()
    assert _listeners(bus, channel) == 0


def test_a_room_starts_from_the_database_when_its_channel_is_subscribed_again(
        fresh: LiveServer, connect: Callable[[str], Client], bus: redis.Redis) -> None:
    slug, site = add_site(fresh)
    channel = _channel(fresh, site)
    ana, abe = admin_token(fresh, "ana"), admin_token(fresh, "abe")
    display, console = connect(f"/s/{slug}/ws/display"), connect(f"/s/{slug}/ws/staff")
    assert console.recv() == "taken"
    assert console.ask(f"pick 1 {ana}") == "success pick 1"
    display.until(lambda m: m == "pick 1")
    display.close()
    console.close()
    assert _until(lambda: _listeners(bus, channel) == 0)
    _silently(fresh, abe, 3, site)  # while no worker listens to the site
    again = connect(f"/s/{slug}/ws/display")
    assert again.sync() == ["pick 1", "pick 3"]  # its greeting, from the database
    # ana moves from 1 to 2, never published: before issue 27 nobody heard it until a
    # resync; now every worker's idle poll of the event log does, within a second or so.
    _silently(fresh, ana, 2, site)
    message, before = again.until(lambda m: m == "pick 2", timeout=5)
    assert before == ["unpick 1"]
    from tablequeue.live.relay.resync_request import events_channel, request

    # A request that every worker resync (as gunicorn's child_exit sends) now means "catch
    # up from the log": nothing is missing, so nothing is sent, nothing twice.
    assert request(fresh.env["REDIS_URL"], events_channel(fresh.env["REDIS_CHANNEL"]))
    assert again.drain(1.0) == []
    assert again.sync() == []


@pytest.fixture
def private(tmp_path: Path) -> Iterator[tuple[PrivateRedis, LiveServer]]:
    """A private Redis to restart, and a 3-worker server on it."""
    bus = PrivateRedis(tmp_path)
    bus.start()
    server = LiveServer(tmp_path, env={"REDIS_URL": bus.url, **SERVER_ENV})
    try:
        server.start()
        yield bus, server
    finally:
        server.close()
        bus.stop()


def test_after_redis_comes_back_each_worker_listens_to_its_sites_again(
        private: tuple[PrivateRedis, LiveServer], opened: list[Client]) -> None:
    bus, server = private
    slug, site = add_site(server)
    channel = _channel(server, site)
    token = admin_token(server, "ana")
    display = server.connect(f"/s/{slug}/ws/display")
    opened.append(display)
    display.sync()
    client = redis.Redis.from_url(bus.url)
    try:
        assert _until(lambda: _listeners(client, channel) == 1)  # add_site's probe left
        bus.stop()
        _silently(server, token, 4, site)
        bus.start()
        client = redis.Redis.from_url(bus.url)
        assert _until(lambda: _listeners(client, channel) == 1)
        # The change made meanwhile arrives: read from the event log by the idle poll (or
        # on the room's new subscription, whichever comes first), once.
        message, before = display.until(lambda m: m == "pick 4", timeout=30)
        assert before == []
    finally:
        client.close()
