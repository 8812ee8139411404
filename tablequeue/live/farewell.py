"""Telling a connection to come back: the close codes for a screen the server cannot
bring up to date (docs/protocol.md, "Limits and failures")."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tablequeue import protocol
from tablequeue.live.connection import Connection, close

log = logging.getLogger(__name__)


def greeted(conn: Connection, on_join: Callable[[Connection], None]) -> bool:
    """Greet; a connection whose greeting cannot be completed is told to come back."""
    try:
        on_join(conn)
        return True
    except Exception as failure:
        come_back(conn, "greeting", failure)
        return False


def come_back(conn: Connection, what: str, failure: Exception) -> None:
    """Close a connection that cannot be brought up to date (its greeting, or the replay
    after `pick`), so that its client reconnects and is greeted afresh: 1013 (try again
    later) when the database is unavailable, 1011 for a bug. Never kept open and silent,
    and never a second reply: nothing else would tell that screen what it missed."""
    if isinstance(failure, (OperationalError, PoolTimeout)):
        log.warning("database unavailable during the %s of a /ws/%s connection; closing "
                    "it with %d", what, conn.role.value, protocol.TRY_AGAIN_LATER,
                    exc_info=failure)
        close(conn, protocol.TRY_AGAIN_LATER, protocol.COME_BACK)
    else:
        log.error("the %s of a /ws/%s connection failed; closing it with %d", what,
                  conn.role.value, protocol.INTERNAL_ERROR, exc_info=failure)
        close(conn, protocol.INTERNAL_ERROR, protocol.SERVER_ERROR)
