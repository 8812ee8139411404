"""The background webhook sender: one per worker (tablequeue.live.start). It claims one
due delivery at a time (ops/lease.py), never one whose ticket has an earlier undelivered
event for the same endpoint (so an endpoint hears a ticket's events in order), signs it
the Standard Webhooks way and POSTs it (ops/hook_http.py: the SSRF rules, 5 s, no
redirects). A 2xx answer delivers it (the row goes); anything else, or no answer, tries
again 1 s later, doubling up to OUTBOX_RETRY_MAX_SECONDS (1 h), then marks it failed for
the site's /admin. At least once: a sender that dies after the POST but before recording
it sends it again, with the same webhook-id, which is the receiver's key to drop it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import logging
import time
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, select, update

from tablequeue.db import transaction
from tablequeue.extensions import Slot
from tablequeue.models import utcnow
from tablequeue.ops import hook_http, lease
from tablequeue.service import webhooks
from tablequeue.service.webhook_targets import Allowed, TargetError

log = logging.getLogger(__name__)
OUTBOX, ENDPOINTS = webhooks.OUTBOX, webhooks.ENDPOINTS


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` and the base64 HMAC-SHA256, keyed with the secret's bytes, of
    "<webhook-id>.<webhook-timestamp>.<body>" (standardwebhooks.com)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class HookSender(lease.Sender):
    name = "webhook-sender"

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        config = app.config
        self.lease = timedelta(seconds=config["OUTBOX_LEASE_SECONDS"])
        self.retry_max = float(config["OUTBOX_RETRY_MAX_SECONDS"])
        self.timeout = min(hook_http.TIMEOUT, config["OUTBOX_LEASE_SECONDS"] / 3)
        self.allowed = Allowed.of(config["WEBHOOK_ALLOW_HTTP"])

    def claim(self) -> lease.Claim | None:
        return lease.claim_one(OUTBOX, self.lease, OUTBOX.c.channel == "webhook",
                               OUTBOX.c.state == "pending", webhooks.earlier_pending())

    def release(self, row: Any) -> None:
        """Due again at once (at least once: the receiver drops a repeat by its id)."""
        with transaction() as connection:
            connection.execute(update(OUTBOX).where(*lease.mine(OUTBOX, row)).values(
                claimed_until=None))

    def send(self, claim: lease.Claim) -> None:
        row = claim.row
        with transaction() as connection:
            endpoint = connection.execute(select(ENDPOINTS.c.url, ENDPOINTS.c.secret).where(
                ENDPOINTS.c.id == row.endpoint_id)).first()
        if endpoint is None:  # removed meanwhile (its rows go with it)
            return
        body = row.body.encode()
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json", "User-Agent": "tablequeue-webhooks",
            "webhook-id": row.message_id, "webhook-timestamp": str(stamp),
            "webhook-signature": sign(endpoint.secret, row.message_id, stamp, body)}
        try:
            status = hook_http.post(endpoint.url, body, headers, self.allowed, self.timeout)
        except (TargetError, OSError, http.client.HTTPException) as error:
            self._failed(row, f"{type(error).__name__}: {error}")
            return
        if 200 <= status < 300:
            with transaction() as connection:
                connection.execute(delete(OUTBOX).where(*lease.mine(OUTBOX, row)))
            self.stats["sent"] += 1
        elif 300 <= status < 400:
            self._failed(row, f"HTTP {status}: redirects are not followed")
        else:
            self._failed(row, f"HTTP {status}")

    def _failed(self, row: Any, why: str) -> None:
        self.stats["failed"] += 1
        log.warning("webhooks: %s #%d to endpoint %d failed (attempt %d): %s", row.kind,
                    row.id, row.endpoint_id, row.attempts, why)
        values: dict[str, Any] = {"claimed_until": None, "last_error": why[:300]}
        if lease.exhausted(row.attempts, 1.0, self.retry_max):
            values["state"] = "failed"
        else:
            values["next_attempt_at"] = utcnow() + timedelta(
                seconds=lease.backoff(row.attempts, 1.0, self.retry_max))
        with transaction() as connection:
            connection.execute(update(OUTBOX).where(*lease.mine(OUTBOX, row)).values(**values))


_SENDER: Slot[HookSender] = Slot("tablequeue.ops.hooks")


def start(app: Flask) -> HookSender:
    """Start this worker's webhook sender (live.start; never in a command). Idle, it
    looks for due deliveries once a second: a site may add an endpoint at any time."""
    sender = _SENDER.put(app, HookSender(app))
    sender.start()
    return sender
