"""The background text sender: one per worker (tablequeue.live.start), with SMS_URL. It
claims one due text at a time (ops/lease.py) and hands it to Twilio's Messages API through
the official library, with a StatusCallback (PUBLIC_URL/sms/status) that records
delivery on the row. Refused, unreachable, rate-limited (429) or timed out: the row is
tried again 1 s later, then doubling up to OUTBOX_RETRY_MAX_SECONDS, then marked failed.

Each text is sent once. A send whose outcome is unknown (the worker died mid-request, the
answer timed out, Twilio answered 5xx) is looked up at Twilio first on its next attempt:
the latest messages to that number from that sender, matched by body (the ticket number is
in it); found, it is recorded as sent and not sent again. A number that replied STOP is
skipped. Numbers are never logged: errors are logged by Twilio's code only."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from tablequeue.db import transaction
from tablequeue.envvars import SmsAccount
from tablequeue.extensions import Slot
from tablequeue.models import utcnow
from tablequeue.ops import lease
from tablequeue.outcomes import SiteId
from tablequeue.service import text_subscriptions, texts

log = logging.getLogger(__name__)
OUTBOX, OPT_OUTS = texts.OUTBOX, texts.OPT_OUTS
TWILIO_API = "https://api.twilio.com"
TIMEOUT = 15.0  # seconds for one request to Twilio (less if the lease is short)
UNSUBSCRIBED = 21610  # Twilio: the recipient replied STOP to this sender
_DIGITS = re.compile(r"\+?\d[\d ()-]{5,}\d")  # a number, however spaced (not an IP)


class TwilioAt(TwilioHttpClient):
    """The library's own HTTP client, sent to `api_base` instead of api.twilio.com (a
    custom http_client is the library's supported hook: its region and edge options only
    change twilio.com's host), and silent: its request log would carry numbers."""

    def __init__(self, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=log)
        self.api_base = api_base.rstrip("/")

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        if url.startswith(TWILIO_API):
            url = self.api_base + url[len(TWILIO_API):]
        return super().request(method, url, params, data, headers, auth, timeout,
                                allow_redirects)

    def log_request(self, kwargs: dict[str, Any]) -> None:
        pass

    def log_response(self, status_code: int, response: Any) -> None:
        pass


def described(error: Exception) -> str:
    """An error as it may be logged and stored: Twilio's status and code, or the
    exception with anything like a phone number taken out."""
    if isinstance(error, TwilioException) and getattr(error, "status", None):
        return f"HTTP {getattr(error, 'status', '?')}, Twilio error {getattr(error, 'code', '?')}"
    return _DIGITS.sub("…", f"{type(error).__name__}: {error}")[:300]


def _in_doubt(error: Exception) -> bool:
    """Twilio may have taken the message: no answer, or a 5xx."""
    status = getattr(error, "status", None) if isinstance(error, TwilioException) else None
    return status is None or status >= 500


def _permanent(error: Exception) -> bool:
    """Trying again cannot help: Twilio refused this message itself (400: a number it
    cannot text, a sender it may not use). Auth, 404, 429 and 5xx may pass."""
    return isinstance(error, TwilioException) and getattr(error, "status", None) == 400


class TextSender(lease.Sender):
    name = "text-sender"

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        config = app.config
        account: SmsAccount = config["SMS"]
        self.public_url = config["PUBLIC_URL"]
        self.lease = timedelta(seconds=config["OUTBOX_LEASE_SECONDS"])
        self.retry_max = float(config["OUTBOX_RETRY_MAX_SECONDS"])
        # Two requests (a look-up, then the send) fit in one lease.
        timeout = min(TIMEOUT, config["OUTBOX_LEASE_SECONDS"] / 3)
        self.client = Client(account.sid, account.token,
                             http_client=TwilioAt(account.api_base, timeout))

    def claim(self) -> lease.Claim | None:
        return lease.claim_one(OUTBOX, self.lease, OUTBOX.c.channel == "sms",
                               OUTBOX.c.state == "pending")

    def send(self, claim: lease.Claim) -> None:
        row = claim.row
        with transaction() as connection:
            stopped = row.recipient is None or connection.execute(
                select(OPT_OUTS.c.number).where(OPT_OUTS.c.number == row.recipient)).first()
            sender = texts.sender_of(connection, SiteId(row.site_id))
        if stopped:
            self._settle(row, state="stopped")
        elif sender is None:
            self._settle(row, state="failed", last_error="no sender number for this site")
        else:
            self._send(row, sender, claim.lapsed)

    def release(self, row: Any) -> None:
        """Handed back mid-send, the claim lapses now: Twilio may have the text, so the
        next claim looks it up before sending (`attempts` names this claim)."""
        with transaction() as connection:
            connection.execute(update(OUTBOX).where(
                *lease.mine(OUTBOX, row), OUTBOX.c.claimed_until.is_not(None)
            ).values(claimed_until=utcnow()))

    def _send(self, row: Any, sender: str, lapsed: bool) -> None:
        doubt = lapsed  # an earlier attempt may have reached Twilio: look before sending
        try:
            sid = self._sent_before(row, sender) if lapsed else None
            doubt = False
            if sid is None:
                message = self.client.messages.create(
                    to=row.recipient, from_=sender, body=row.body,
                    status_callback=f"{self.public_url}/sms/status?o={row.id}")
                sid = message.sid
        except Exception as error:  # refused, unreachable, timed out, rate-limited
            self._failed(row, error, doubt or _in_doubt(error))
            return
        self._settle(row, state="sent", message_id=sid, sent_at=utcnow())
        self.stats["sent"] += 1

    def _sent_before(self, row: Any, sender: str) -> str | None:
        """Twilio's id of this very text if an earlier attempt got it there."""
        for message in self.client.messages.list(to=row.recipient, from_=sender, limit=50):
            if message.body == row.body:
                log.info("texts: %s #%d had reached Twilio before; not sent again",
                         row.kind, row.id)
                return str(message.sid)
        return None

    def _failed(self, row: Any, error: Exception, doubt: bool) -> None:
        self.stats["failed"] += 1
        why = described(error)
        log.warning("texts: sending %s #%d failed (attempt %d): %s", row.kind, row.id,
                    row.attempts, why)
        if getattr(error, "code", None) == UNSUBSCRIBED:
            text_subscriptions.opt_out(row.recipient)
            self._settle(row, state="stopped", last_error=why)
        elif _permanent(error) or lease.exhausted(row.attempts, 1.0, self.retry_max):
            self._settle(row, state="failed", last_error=why)
        else:
            due = utcnow() + timedelta(seconds=lease.backoff(row.attempts, 1.0, self.retry_max))
            # In doubt, the claim is left standing until then: the next attempt sees it
            # lapsed and looks the text up at Twilio before sending it.
            with transaction() as connection:
                connection.execute(update(OUTBOX).where(*lease.mine(OUTBOX, row)).values(
                    next_attempt_at=due, last_error=why,
                    claimed_until=due if doubt else None))

    def _settle(self, row: Any, **values: Any) -> None:
        """The text's outcome: its number is no longer kept on the row."""
        with transaction() as connection:
            connection.execute(update(OUTBOX).where(*lease.mine(OUTBOX, row)).values(
                claimed_until=None, recipient=None, **values))


_SENDER: Slot[TextSender] = Slot("tablequeue.ops.texts")


def start(app: Flask) -> TextSender:
    """Start this worker's text sender (live.start, with SMS_URL; never in a command)."""
    sender = _SENDER.put(app, TextSender(app))
    sender.start()
    return sender
