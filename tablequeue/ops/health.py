"""GET /healthz: is this worker able to serve? For load balancers, monitors and people.

Answers for the one worker that took the request: database reachable, relay subscribed
(or disabled without REDIS_URL), and how many websockets it holds per role and per site. 200 when it
can serve, 503 when the database or the relay is away."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from tablequeue.db import unit_of_work
from tablequeue.live.connection import Role
from tablequeue.live.registry import registry_of

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def _database() -> str:
    try:
        with unit_of_work() as session:
            session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any failure means "cannot serve", and says why in the log
        log.warning("healthz: database check failed: %s", exc)
        return "unavailable"


@bp.route("/healthz")
def healthz() -> tuple[Any, int]:
    registry = registry_of(current_app)
    database, relay = _database(), registry.relay.health()
    ok = database == "ok" and relay["state"] in ("ok", "disabled")
    body = {
        "status": "ok" if ok else "unavailable",
        "database": database,
        "relay": relay,
        "connections": {role.value: registry.count(role) for role in Role},
        # This worker's rooms: the sites it has screens of (and hears, with a relay).
        "sites": {room.slug: sum(room.count(role) for role in Role)
                  for room in registry.rooms()},
        "worker": os.getpid(),
    }
    return jsonify(body), 200 if ok else 503
