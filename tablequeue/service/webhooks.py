"""Webhooks: a site's endpoints hear its ticket events (created, called, served,
cancelled) as signed JSON POSTs (Standard Webhooks; tablequeue.ops.hooks delivers them).
Each event is one outbox row per endpoint, written in the transaction of the change, with
an id that stays the same on every retry (the receiver's key for dropping a duplicate).

The payload: id, type, timestamp and data (site, ticket, status, table, staff, and why a
ticket was cancelled); the visitor's email and name only for a `personal` endpoint."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from tablequeue.db import transaction
from tablequeue.extensions import Slot, app_object
from tablequeue.models import Outbound, WebhookEndpoint, utcnow
from tablequeue.outcomes import SiteId, TicketView
from tablequeue.service.directory import directory_of
from tablequeue.service.webhook_targets import Allowed, TargetError, vet

ENDPOINTS, OUTBOX = WebhookEndpoint.__table__, Outbound.__table__
EVENTS = ("ticket.created", "ticket.called", "ticket.served", "ticket.cancelled")
# How stale a worker's list of the sites with endpoints may be: an endpoint hears every
# event committed from this long after it was added (at once on the worker that added it).
REFRESH_SECONDS = 1.0


class WebhookError(ValueError):
    """Why an endpoint cannot be added; the message is for the admin."""


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    events: tuple[str, ...]
    personal: bool
    created_at: datetime
    pending: int
    failed: int


@dataclass(frozen=True)
class Failure:
    """A delivery given up on, for the site's /admin."""

    id: int
    endpoint: str
    kind: str
    ticket: int
    attempts: int
    error: str | None
    created_at: datetime


def allowed() -> Allowed:
    return Allowed.of(current_app.config["WEBHOOK_ALLOW_HTTP"])


def new_secret() -> str:
    """whsec_ and 32 random bytes in base64: the Standard Webhooks form of a secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def parse_events(raw: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(e.strip() for e in raw.split(",") if e.strip()))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown or not chosen:
        raise WebhookError(f"events are some of {', '.join(EVENTS)}")
    return chosen


def add(url: str, events: tuple[str, ...], personal: bool, *, site: SiteId) -> tuple[int, str]:
    """A new endpoint of the site: (its id, its secret, shown this once)."""
    try:
        vet(url, allowed())
    except TargetError as refusal:
        raise WebhookError(str(refusal)) from None
    secret = new_secret()
    with transaction() as connection:
        key = connection.execute(insert(ENDPOINTS).values(
            site_id=site, url=url.strip(), events=",".join(events), personal=personal,
            secret=secret, created_at=utcnow())).inserted_primary_key
        assert key is not None  # an INSERT of one row
        endpoint_id = key[0]
    _listening(app_object()).at = 0.0
    return int(endpoint_id), secret


def remove(endpoint_id: int, *, site: SiteId | None = None) -> bool:
    """Remove an endpoint (of `site`, if given) and its undelivered events."""
    with transaction() as connection:
        where = [ENDPOINTS.c.id == endpoint_id]
        if site is not None:
            where.append(ENDPOINTS.c.site_id == site)
        gone = connection.execute(delete(ENDPOINTS).where(*where)).rowcount == 1
    _listening(app_object()).at = 0.0
    return gone


def endpoints(*, site: SiteId | None) -> list[tuple[SiteId, Endpoint]]:
    """The endpoints of a site (None: of every site), each with its pending and failed
    deliveries."""
    def count(state: str) -> ScalarSelect[int]:
        return (select(func.count()).where(OUTBOX.c.endpoint_id == ENDPOINTS.c.id,
                                           OUTBOX.c.state == state).scalar_subquery())

    query = select(ENDPOINTS, count("pending").label("pending"),
                   count("failed").label("failed")).order_by(ENDPOINTS.c.id)
    if site is not None:
        query = query.where(ENDPOINTS.c.site_id == site)
    with transaction() as connection:
        rows = connection.execute(query).all()
    return [(SiteId(r.site_id), Endpoint(r.id, r.url, tuple(r.events.split(",")), r.personal,
                                         r.created_at, r.pending, r.failed)) for r in rows]


def failures(limit: int = 20, *, site: SiteId) -> list[Failure]:
    with transaction() as connection:
        rows = connection.execute(
            select(OUTBOX.c.id, ENDPOINTS.c.url, OUTBOX.c.kind, OUTBOX.c.ticket_id,
                   OUTBOX.c.attempts, OUTBOX.c.last_error, OUTBOX.c.created_at)
            .join_from(OUTBOX, ENDPOINTS, OUTBOX.c.endpoint_id == ENDPOINTS.c.id)
            .where(OUTBOX.c.site_id == site, OUTBOX.c.state == "failed")
            .order_by(OUTBOX.c.id.desc()).limit(limit)).all()
    return [Failure(*row) for row in rows]


def retry_failed(*, site: SiteId) -> int:
    """Deliver the site's failed events again, from the first retry delay."""
    with transaction() as connection:
        return connection.execute(update(OUTBOX).where(
            OUTBOX.c.site_id == site, OUTBOX.c.channel == "webhook",
            OUTBOX.c.state == "failed").values(
            state="pending", attempts=0, next_attempt_at=utcnow(), claimed_until=None)).rowcount


# ---- written in the command's transaction -----------------------------------------------


class _Listening:
    """This worker's list of the sites that have endpoints (a command of a site without
    one then costs no query)."""

    def __init__(self) -> None:
        self.at = 0.0
        self.sites: frozenset[int] = frozenset()


_LISTENING: Slot[_Listening] = Slot("tablequeue.service.webhooks")


def _listening(app: Flask) -> _Listening:
    return _LISTENING.find(app) or _LISTENING.put(app, _Listening())


def _has_endpoints(connection: Connection, site: SiteId) -> bool:
    listening = _listening(app_object())
    if time.monotonic() - listening.at > REFRESH_SECONDS:
        listening.sites = frozenset(connection.execute(
            select(ENDPOINTS.c.site_id).distinct()).scalars())
        listening.at = time.monotonic()
    return site in listening.sites


def queue(connection: Connection, kind: str, ticket: TicketView, *, site: SiteId,
          table: int | None = None, reason: str | None = None) -> None:
    """One row per endpoint of the site that listens to `kind`: the event, in JSON."""
    if not _has_endpoints(connection, site):
        return
    hooks = connection.execute(select(ENDPOINTS.c.id, ENDPOINTS.c.events, ENDPOINTS.c.personal)
                               .where(ENDPOINTS.c.site_id == site)).all()
    hooks = [h for h in hooks if kind in h.events.split(",")]
    if not hooks:
        return
    now, event_id = utcnow(), f"msg_{secrets.token_hex(16)}"
    view = directory_of(app_object()).by_id(site)
    data: dict[str, object] = {
        "site": view.slug if view else str(site), "ticket": ticket.id, "status": ticket.status,
        "table": table, "staff": ticket.staff or None}
    if reason:
        data["reason"] = reason
    personal = {**data, "email": ticket.email, "name": ticket.name}
    connection.execute(insert(OUTBOX), [{
        "site_id": site, "ticket_id": ticket.id, "channel": "webhook", "kind": kind,
        "endpoint_id": hook.id, "message_id": event_id, "state": "pending",
        "body": json.dumps({"id": event_id, "type": kind,
                            "timestamp": now.isoformat().replace("+00:00", "Z"),
                            "data": personal if hook.personal else data},
                           separators=(",", ":")),
        "created_at": now, "attempts": 0, "next_attempt_at": now} for hook in hooks])


def earlier_pending() -> ColumnElement[bool]:
    """For a sender's claim: no earlier undelivered event of the same ticket to the same
    endpoint (events reach an endpoint in order per ticket)."""
    earlier = OUTBOX.alias("earlier")
    return ~select(earlier.c.id).where(and_(
        earlier.c.endpoint_id == OUTBOX.c.endpoint_id, earlier.c.ticket_id == OUTBOX.c.ticket_id,
        earlier.c.id < OUTBOX.c.id, earlier.c.state == "pending")).exists()
