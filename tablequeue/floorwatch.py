"""One greenlet per worker keeps the floor current without anyone sending a command: it
frees the tables of staff away longer than AWAY_MINUTES (tablequeue.service.away; the
database decides which worker does it, so it happens once however many run)."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from tablequeue.broadcast import Registry
from tablequeue.service import away

log = logging.getLogger(__name__)

TICK = 1.0  # seconds between looks at the database
AWAY_EVERY = 5  # ticks between sweeps for overdue absences (minutes matter, not seconds)


def start(app: Flask) -> None:
    """Once per process (wsgi.py calls it in each gunicorn worker)."""
    if app.extensions.get("tablequeue.floorwatch"):
        return
    app.extensions["tablequeue.floorwatch"] = True
    threading.Thread(target=_run, args=(app,), name="floor-watch", daemon=True).start()


def _run(app: Flask) -> None:
    registry: Registry = app.extensions["tablequeue.registry"]
    ticks = 0
    while True:
        time.sleep(TICK)
        ticks += 1
        with app.app_context():
            try:
                if ticks % AWAY_EVERY == 0:
                    sweep_away(app, registry)
            except Exception:  # the database may be down: try again next tick
                log.warning("floor watch failed", exc_info=True)


def sweep_away(app: Flask, registry: Registry) -> None:
    events = away.release_overdue(app.config["AWAY_MINUTES"])
    if events:
        registry.publish(events)
