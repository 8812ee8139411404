"""Connections whose login or device key ended elsewhere: one sweep per worker (every room
at once), started
with the worker's other loops (tablequeue.live.start), unbinds staff connections whose
session expired or was revoked (the CLI, another worker without a relay) and closes
screens whose device key was revoked. Logout and /admin publish at once; this catches
everything else within SESSION_CHECK_SECONDS."""

from __future__ import annotations

import logging
import threading
import time
import weakref

from flask import Flask, current_app

from tablequeue import service
from tablequeue.live.connection import Connection, Role, close
from tablequeue.live.registry import Registry, registry_of
from tablequeue.outcomes import SessionsRevoked
from tablequeue.security import presented_device_key
from tablequeue.service import devices, identity

log = logging.getLogger(__name__)

# Kiosks and displays that presented a device key, with its hash: revoking it closes them.
_screens: weakref.WeakKeyDictionary[Connection, str] = weakref.WeakKeyDictionary()


def remember_screen(conn: Connection) -> None:
    """Note the device key a kiosk or display connected with, when keys are required."""
    key = presented_device_key()
    if key and conn.role.value in current_app.config["DEVICE_KEYS"]:
        _screens[conn] = identity.hash_token(key)


def start(app: Flask) -> None:
    threading.Thread(target=_sweep_forever, args=(app,), name="session-watch", daemon=True).start()


def _sweep_forever(app: Flask) -> None:
    registry = registry_of(app)
    while True:
        time.sleep(app.config["SESSION_CHECK_SECONDS"])
        with app.app_context():
            try:
                sweep_sessions(registry)
                sweep_screens()
            except Exception:  # the database may be down: try again next round
                log.warning("session sweep failed", exc_info=True)


def sweep_sessions(registry: Registry) -> None:
    """One query for every bound console of the worker; then each room whose consoles lost
    their session hears it, with its own site's `taken`."""
    rooms = {room: {c.token_hash for c in room.members(Role.STAFF) if c.token_hash}
             for room in registry.rooms()}
    bound = set().union(*rooms.values()) if rooms else set()
    if not bound:
        return
    ended = bound - identity.valid_token_hashes(bound)
    for room, hashes in rooms.items():
        if hashes & ended:
            registry.deliver([SessionsRevoked(frozenset(hashes & ended),
                                              service.taken(site=room.site), site=room.site)])


def sweep_screens() -> None:
    screens = list(_screens.items())
    if not screens:
        return
    valid = devices.valid_key_hashes({key_hash for _, key_hash in screens})
    for conn, key_hash in screens:
        if key_hash not in valid:
            _screens.pop(conn, None)
            close(conn, 1008, "this device key was revoked")
