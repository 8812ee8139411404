"""Every background loop of a serving worker, started here and nowhere else.

wsgi.py calls `start` once in each gunicorn worker (the worker imports wsgi.py after
gevent's patching; the app is never preloaded), so each worker runs its own loops, as
greenlets. Nothing starts at import or on first use, and `flask` commands, which build
the same app, never call this: a command runs no loop.

The loops, one each per worker:
- floor-watch (live.floorwatch): reads the floor's settings every FLOOR_POLL_SECONDS and
  frees the tables of staff away too long;
- visitor-hub (live.follow.hub): sends phones their new positions, at most once a second;
- event-watch (live.eventwatch): fills a room's holes in its site's numbered events from
  the event log, catches up quiet rooms behind the log every EVENT_POLL_SECONDS, trims it;
- session-watch (live.sessionwatch): unbinds consoles whose session ended elsewhere and
  closes screens whose device key was revoked;
- the ping sweep (live.detached, under gevent only): pings every detached websocket;
- checkpoint (ops.checkpoint, on SQLite under gevent): copies the write-ahead log back
  into the database file in a threadpool thread, so that no COMMIT has to;
- mail-sender (ops.mail, with SMTP_URL and MAIL_FROM): sends the outbox;
- text-sender (ops.texts, with SMS_URL) and webhook-sender (ops.hooks): send theirs;
- tablequeue-relay (live.relay.pubsub, with REDIS_URL): listens to Redis."""

from __future__ import annotations

import logging

from flask import Flask

from tablequeue.live import detached, eventwatch, floorwatch, sessionwatch
from tablequeue.live.follow.hub import hub_of
from tablequeue.ops import checkpoint, hooks, mail
from tablequeue.service.directory import directory_of

log = logging.getLogger(__name__)


def start(app: Flask) -> None:
    """Start this worker's loops. The relay comes last: it waits (a few seconds at most)
    for its subscription, and by then every loop that events reach is running."""
    _know_the_sites(app)
    floorwatch.start(app)
    eventwatch.start(app)
    hub_of(app).start()
    sessionwatch.start(app)
    if detached.available():  # else simple-websocket pings from its own reader thread
        detached.start_pinger()
    checkpoint.start(app)
    mail.start(app)
    if app.config.get("SMS"):  # else twilio (~16 MB with its HTTP stack) is never imported
        from tablequeue.ops import texts

        texts.start(app)
    hooks.start(app)
    if app.config.get("REDIS_URL"):
        # Imported only with a relay, as in the app factory: redis costs ~6 MB a worker.
        from tablequeue.live.relay import pubsub

        pubsub.relay_of(app).start()


def _know_the_sites(app: Flask) -> None:
    """Read the sites before the first handshake: a worker that knows them routes a screen
    without the database, so a screen that comes while the database is down is greeted as
    far as it can be and told to come back (1013), not refused with a 503."""
    try:
        directory_of(app).refresh()
    except Exception:  # the database is down: the first lookup will read the sites instead
        log.warning("could not read the sites at start", exc_info=True)
