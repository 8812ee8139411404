"""After a site's floor setting changed: tell every worker with screens of that site to
read it now (FloorChanged), through the relay when there is one, on that site's channel.
Without one, in the server, this worker reads it at once; from a `flask` command, the
other processes' poll picks it up within FLOOR_POLL_SECONDS."""

from __future__ import annotations

import logging

from flask import Flask

from tablequeue.live.registry import registry_of
from tablequeue.live.relay import codec
from tablequeue.live.relay.channels import site_channel
from tablequeue.live.relay.resync_request import events_channel
from tablequeue.outcomes import FloorChanged, SiteId

log = logging.getLogger(__name__)


def from_server(app: Flask, site: SiteId) -> None:
    """/admin: published like any event (the Redis relay, or this process)."""
    registry_of(app).publish([FloorChanged(site=site)])


def from_command(app: Flask, site: SiteId) -> None:
    """A `flask` command (no relay listener of its own): one Redis PUBLISH, if configured;
    a failure is only logged, the poll still brings the change."""
    url = app.config.get("REDIS_URL")
    if not url:
        return
    import redis

    channel = site_channel(events_channel(app.config["REDIS_CHANNEL"]), site)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.publish(channel, codec.encode([FloorChanged(site=site)]))
        finally:
            client.close()
    except redis.RedisError as error:
        log.warning("could not tell the workers through Redis (%s); they poll anyway", error)
