"""The background mail sender: one per worker, started with the worker's other loops
(tablequeue.live.start) when SMTP_URL and MAIL_FROM are set. It claims one due outbox
row at a time (ops/lease.py: a conditional UPDATE, on PostgreSQL after SELECT ... FOR
UPDATE SKIP LOCKED), sends it, and deletes it; a failure puts the row back with
exponential backoff.
Nothing here runs in a request or a websocket handler, so a slow or dead mail server
delays no reply and no page.

A claim is a lease (LEASE): a worker killed mid-send leaves the row to be sent again once
the lease lapses (at least once). Otherwise each row is sent once, by one worker. A worker
told to stop (gunicorn.conf.py) claims nothing more, and one that exits with a send still
under way puts that row back at once (Sender.finish): a graceful restart delays no mail by
a whole lease."""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask
from sqlalchemy import delete, update

from tablequeue.db import transaction
from tablequeue.extensions import Slot
from tablequeue.models import OutboxMail, utcnow
from tablequeue.ops import lease

log = logging.getLogger(__name__)

OUTBOX = OutboxMail.__table__
POLL_SECONDS = 1.0  # an idle sender looks for due mail this often
LEASE = timedelta(minutes=2)  # longer than any one SMTP conversation (TIMEOUT)
TIMEOUT = 15  # seconds for the SMTP connection and each command
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 300.0  # seconds before a retry, doubling
# Seconds an exiting worker lets a send under way end before it puts the row back: a
# reachable server answers in far less, and gunicorn's graceful_timeout (10 s from the
# SIGTERM) must cover it.
FINISH_WAIT = 2.0


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts` + 1: doubling, capped, with jitter."""
    return lease.backoff(attempts, BACKOFF_FIRST, BACKOFF_MAX)


def claim_one() -> Any | None:
    """Take the oldest due row nobody holds; None when there is none (ops/lease.py)."""
    claim = lease.claim_one(OUTBOX, LEASE)
    return claim.row if claim else None


def sent(row_id: int) -> None:
    with transaction() as connection:
        connection.execute(delete(OUTBOX).where(OUTBOX.c.id == row_id))


def failed(row: Any, error: Exception) -> None:
    delay = timedelta(seconds=backoff(row.attempts))
    with transaction() as connection:
        connection.execute(
            update(OUTBOX).where(OUTBOX.c.id == row.id).values(
                claimed_until=None, next_attempt_at=utcnow() + delay,
                last_error=f"{type(error).__name__}: {error}"[:300]))


def release(row: Any) -> None:
    """Put back a row this worker claimed and never sent nor failed: due again at once.
    `attempts` names this claim: a later one (after the lease lapsed) is left alone."""
    with transaction() as connection:
        connection.execute(
            update(OUTBOX).where(OUTBOX.c.id == row.id, OUTBOX.c.attempts == row.attempts)
            .values(claimed_until=None))


def message(row: Any, config: Any) -> EmailMessage:
    """Plain text plus simple HTML; the site's name in From; no tracking of any kind."""
    name, address = parseaddr(config["MAIL_FROM"])
    mail = EmailMessage()
    mail["From"] = formataddr((name or config["SITE_NAME"], address))
    mail["To"] = row.recipient
    mail["Subject"] = row.subject
    mail["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(row.body_text)
    mail.add_alternative(row.body_html, subtype="html")
    return mail


def deliver(url: str, mail: EmailMessage) -> None:
    """One SMTP conversation: smtp://[user:pass@]host[:port][?starttls=1] or smtps://."""
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    host, port = parts.hostname or "localhost", parts.port or (465 if secure else 25)
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "on", "yes")
    context = ssl.create_default_context()
    client = (smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context) if secure
              else smtplib.SMTP(host, port, timeout=TIMEOUT))
    with client:
        if starttls:
            client.starttls(context=context)
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(mail)


class Sender:
    """The worker's sender loop (a greenlet under gevent's patched threading)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.stats = {"sent": 0, "failed": 0}
        # Set when the worker begins its exit: no new claim from then on.
        self.stopping = threading.Event()
        self._held: Any | None = None  # the row claimed and not yet sent nor put back
        self._idle = threading.Event()  # clear while claiming or holding a row
        self._idle.set()

    def start(self) -> None:
        threading.Thread(target=self._run, name="mail-sender", daemon=True).start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                with self.app.app_context():
                    busy = self.send_due()
            except Exception:  # the database may be away: try again shortly
                log.warning("mail: sender round failed", exc_info=True)
                busy = False
            if not busy:
                self.stopping.wait(POLL_SECONDS)

    def stop(self) -> None:
        """The worker begins its exit (SIGTERM, SIGINT, SIGQUIT: gunicorn.conf.py): claim
        nothing more. Its poll must not fall between the signal and the exit and take a
        row only to be abandoned with it, held for a whole LEASE."""
        self.stopping.set()

    def finish(self, wait: float = FINISH_WAIT) -> None:
        """The worker is exiting (gunicorn's worker_exit): let a send under way end for
        up to `wait` seconds; if it has not, put its row back, as the process ends with
        it. The next worker then sends it at once, not after LEASE (the mail may go
        twice if the SMTP server took it already: at least once, as with a killed worker)."""
        self.stop()
        if self._idle.wait(wait):
            return
        row = self._held
        if row is not None:
            log.warning("mail: worker exiting during the send of %s #%d: put back",
                        row.kind, row.id)
            with self.app.app_context():
                release(row)

    def send_due(self) -> bool:
        """Send one due message; False when there was none. Busy from the claim on, and a
        row taken as the exit began is put back unsent (as lease.Sender.send_due)."""
        self._idle.clear()
        try:
            row = claim_one()
            if row is None:
                return False
            self._held = row
            if self.stopping.is_set():
                release(row)
            else:
                self._send(row)
        finally:
            self._held = None
            self._idle.set()
        return True

    def _send(self, row: Any) -> None:
        try:
            deliver(self.app.config["SMTP_URL"], message(row, self.app.config))
        except Exception as error:  # refused, unreachable, timed out: retry later
            self.stats["failed"] += 1
            log.warning("mail: sending %s #%d failed (attempt %d): %s", row.kind, row.id,
                        row.attempts, error)
            failed(row, error)
            return
        sent(row.id)
        self.stats["sent"] += 1


_SENDER: Slot[Sender] = Slot("tablequeue.ops.mail")


def sender_of(app: object) -> Sender | None:
    """The worker's sender, if its app started one (`app`: what gunicorn serves, which is
    not ours, or not a Flask app, when it failed to load)."""
    return _SENDER.find(app) if isinstance(app, Flask) else None


def start(app: Flask) -> Sender | None:
    """Start this worker's sender if email is configured (live.start; never in `flask` CLI)."""
    if not (app.config.get("SMTP_URL") and app.config.get("MAIL_FROM")):
        return None
    sender = _SENDER.put(app, Sender(app))
    sender.start()
    return sender
