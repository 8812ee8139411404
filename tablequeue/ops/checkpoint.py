"""SQLite's WAL checkpoints, off the request path.

SQLite copies its write-ahead log back into the database file once the log passes 1000
pages (`wal_autocheckpoint`), inside whichever COMMIT crosses that line: that commit takes
about 4 ms instead of 0.1 (the copy and two fsyncs), and under gevent the whole worker
waits with it. Every write also adds a page of the event log (issue 27), so the line came
a third sooner and the claim storm's p99 felt it (docs/performance.md).

A serving worker on SQLite (tablequeue.live.start) instead runs a PASSIVE checkpoint every
CHECKPOINT_SECONDS on a connection of its own, in a thread of gevent's threadpool: sqlite3
lets go of the GIL while SQLite works, so the worker's greenlets go on meanwhile. PASSIVE
never waits for a reader or a writer; with the log copied back, the next writer starts
it over from the beginning, and no COMMIT reaches the line. The automatic checkpoint stays
as the safety net (a `flask` command, a rate this loop cannot keep up with)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import TYPE_CHECKING

from flask import Flask

from tablequeue.extensions import db

if TYPE_CHECKING:  # gevent is imported when the loop starts, in a gevent worker only
    from gevent.threadpool import ThreadPool

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 0.1


def once(connection: sqlite3.Connection) -> tuple[int, int, int]:
    """One PASSIVE checkpoint: (1 if it could not finish, frames in the log, copied)."""
    busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(frames), int(copied)


def database_file(app: Flask) -> str | None:
    """The app's SQLite file; None on PostgreSQL or in memory."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url.database


def start(app: Flask) -> bool:
    """Under gevent, on SQLite: checkpoint every CHECKPOINT_SECONDS in the threadpool.
    Whether it started."""
    from gevent import get_hub, monkey

    path = database_file(app)
    if path is None or not monkey.is_module_patched("threading"):
        return False  # without gevent a COMMIT stalls only its own thread
    pool = get_hub().threadpool
    # Opened, used and closed in the pool's threads only (whichever runs it).
    connection = pool.apply(sqlite3.connect, (path,), {"check_same_thread": False,
                                                       "isolation_level": None})
    threading.Thread(target=_run, args=(pool, connection), name="checkpoint",
                     daemon=True).start()
    return True


def _run(pool: ThreadPool, connection: sqlite3.Connection) -> None:
    while True:  # as long as the worker
        time.sleep(CHECKPOINT_SECONDS)
        try:
            pool.apply(once, (connection,))  # this greenlet waits; the worker does not
        except sqlite3.Error:
            log.warning("SQLite checkpoint failed", exc_info=True)
