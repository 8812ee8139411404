"""Taking one outbox row at a time, for every sender (mail, texts, webhooks): a claim is
a conditional UPDATE of the oldest due row nobody holds (on PostgreSQL after SELECT ...
FOR UPDATE SKIP LOCKED), so of workers and hosts racing for a row exactly one gets it.

A claim is a lease: it lasts until `claimed_until`. A sender that dies mid-send leaves the
row to whoever claims it once the lease lapses; `Claim.lapsed` tells them so (a text is
then looked up at Twilio before it is sent again: tablequeue.ops.texts)."""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, Table, or_, select, update

from tablequeue.db import read_only, transaction
from tablequeue.extensions import Slot
from tablequeue.models import utcnow

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # an idle sender looks for due rows this often
# Seconds an exiting worker lets a send under way end (gunicorn's graceful_timeout covers it).
FINISH_WAIT = 2.0


@dataclass(frozen=True)
class Claim:
    row: Any  # the row as claimed: attempts already counts this one
    lapsed: bool  # an earlier claim of it ran out without saying how it went


def claim_one(table: Table, lease: timedelta, *where: ColumnElement[bool],
              values: dict[str, Any] | None = None) -> Claim | None:
    """Take the oldest due row of `table` matching `where` that nobody holds; None when
    there is none. `values`: what else the claim writes on the row."""
    now = utcnow()
    free = or_(table.c.claimed_until.is_(None), table.c.claimed_until < now)
    due = select(table.c.id).where(table.c.next_attempt_at <= now, free, *where).limit(1)
    with read_only() as connection:  # idle, a sender never takes SQLite's write lock
        if connection.execute(due).first() is None:
            return None
    with transaction() as connection:
        candidate = connection.execute(
            select(table.c.id, table.c.claimed_until)
            .where(table.c.next_attempt_at <= now, free, *where)
            .order_by(table.c.id).limit(1).with_for_update(skip_locked=True)
        ).first()
        if candidate is None:
            return None
        taken = connection.execute(
            update(table).where(table.c.id == candidate.id, free)
            .values(claimed_until=now + lease, attempts=table.c.attempts + 1, **(values or {}))
        ).rowcount
        if taken != 1:
            return None
        row = connection.execute(select(table).where(table.c.id == candidate.id)).first()
    return Claim(row, candidate.claimed_until is not None)


def mine(table: Table, row: Any) -> tuple[ColumnElement[bool], ...]:
    """This claim of the row: a sender too slow for its lease writes nothing over the one
    that took the row over (`attempts` counts the claims)."""
    return table.c.id == row.id, table.c.attempts == row.attempts


def backoff(attempts: int, first: float, most: float) -> float:
    """Seconds before retry number `attempts` + 1: doubling from `first`, capped at
    `most`, with jitter (a quarter either way) so that retries do not march in step."""
    base = min(most, first * 2 ** max(0, attempts - 1))
    return base * (0.75 + random.random() / 2)


def exhausted(attempts: int, first: float, most: float) -> bool:
    """The retries are spent: the attempt that just failed came after a wait of `most`
    (waits of `first`, twice that, ... up to `most`, then failed)."""
    return attempts >= 2 and first * 2 ** (attempts - 2) >= most


class Sender:
    """A worker's sender loop (a greenlet under gevent's patched threading): one claimed
    row after another while there are any, else a look every POLL_SECONDS. Told to stop
    (gunicorn.conf.py, as for mail), it claims nothing more; exiting with a row still under
    way, it hands the row back (`release`) instead of leaving it for a whole lease."""

    name = "outbox-sender"

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stats = {"sent": 0, "failed": 0}
        self.stopping = threading.Event()
        self._held: Any | None = None  # the row claimed and not yet settled
        self._idle = threading.Event()  # clear while claiming or holding a row
        self._idle.set()

    def start(self) -> None:
        _SENDERS.find(self.app) or _SENDERS.put(self.app, [])
        _SENDERS.of(self.app).append(self)
        threading.Thread(target=self._run, name=self.name, daemon=True).start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    busy = self.send_due()
            except Exception:  # the database may be away: try again shortly
                log.warning("%s: round failed", self.name, exc_info=True)
                busy = False
            if not busy:
                self.stopping.wait(POLL_SECONDS)

    def send_due(self) -> bool:
        """Send one due row; False when there was none. Busy from the claim on: an exit
        that begins while the claim's COMMIT is out must wait for it (finish), or the row
        it takes would be abandoned for its whole lease. One taken as the exit began is
        handed back unsent."""
        self._idle.clear()
        try:
            claim = self.claim()
            if claim is None:
                return False
            self._held = claim.row
            if self.stopping.is_set():
                self.release(claim.row)
            else:
                self.send(claim)
        finally:
            self._held = None
            self._idle.set()
        return True

    def stop(self) -> None:
        self.stopping.set()

    def finish(self, wait: float = FINISH_WAIT) -> None:
        """The worker is exiting: let a send under way end for up to `wait` seconds, else
        hand its row back, as the process ends with it."""
        self.stop()
        row = None if self._idle.wait(wait) else self._held
        if row is not None:
            log.warning("%s: exiting during the send of %s #%d: handed back", self.name,
                        row.kind, row.id)
            with self.app.app_context():
                self.release(row)

    def claim(self) -> Claim | None:
        raise NotImplementedError

    def send(self, claim: Claim) -> None:
        raise NotImplementedError

    def release(self, row: Any) -> None:
        """Give back a row this worker claimed and did not settle."""
        raise NotImplementedError


_SENDERS: Slot[list[Sender]] = Slot("tablequeue.ops.lease")


def senders_of(app: object) -> list[Sender]:
    """The worker's text and webhook senders (gunicorn.conf.py stops them with the mail
    sender); `app` is what gunicorn serves, which may not be ours."""
    return list(_SENDERS.find(app) or []) if isinstance(app, Flask) else []
