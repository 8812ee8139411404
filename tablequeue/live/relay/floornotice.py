"""After a floor setting changed: tell every worker to read it now (FloorChanged), through
the relay when there is one. Without one, in the server, this worker reads it at once;
from a `flask` command, the other processes' poll picks it up within FLOOR_POLL_SECONDS."""

from __future__ import annotations

import logging

from flask import Flask

from tablequeue.live.registry import registry_of
from tablequeue.live.relay import codec
from tablequeue.outcomes import FloorChanged, SiteId
from tablequeue.service.directory import directory_of

log = logging.getLogger(__name__)


def _changed(app: Flask, site: SiteId | None) -> FloorChanged:
    """The site's FloorChanged (None: the default site's)."""
    return FloorChanged(site=site if site is not None else directory_of(app).default().id)


def from_server(app: Flask, site: SiteId | None = None) -> None:
    """/admin: published like any event (the Redis relay, or this process)."""
    registry_of(app).publish([_changed(app, site)])


def from_command(app: Flask, site: SiteId | None = None) -> None:
    """A `flask` command (no relay listener of its own): one Redis PUBLISH, if configured;
    a failure is only logged, the poll still brings the change."""
    url = app.config.get("REDIS_URL")
    if not url:
        return
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.publish(app.config["REDIS_CHANNEL"] + ":events",
                           codec.encode([_changed(app, site)]))
        finally:
            client.close()
    except redis.RedisError as error:
        log.warning("could not tell the workers through Redis (%s); they poll anyway", error)
