"""What a change of a ticket tells the outside world, written in the change's own
transaction (the outbox): mail (service/outbox.py), texts (service/texts.py) and webhooks
(service/webhooks.py). Each costs nothing where it is not configured: mail and texts look
at the configuration, webhooks at this worker's list of the sites that have endpoints."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from tablequeue.outcomes import SiteId, TicketView
from tablequeue.service import outbox, texts, webhooks


def created(connection: Connection, ticket: TicketView, *, site: SiteId) -> None:
    webhooks.queue(connection, "ticket.created", ticket, site=site)


def claimed(connection: Connection, ticket: TicketView, table: int, *, site: SiteId) -> None:
    """Called to a table: "go to table N" by mail and text, "almost up" to whoever is near
    the front now, and the webhook."""
    outbox.on_claimed(connection, ticket.id, table, site=site)
    texts.on_claimed(connection, ticket.id, table, site=site)
    webhooks.queue(connection, "ticket.called", ticket, site=site, table=table)


def ended(connection: Connection, ticket: TicketView, table: int, completed: bool, *,
          site: SiteId) -> None:
    """Served, or cancelled by its staff member (a no-show)."""
    if completed:
        webhooks.queue(connection, "ticket.served", ticket, site=site, table=table)
    else:
        webhooks.queue(connection, "ticket.cancelled", ticket, site=site, table=table,
                       reason="no-show")


def line_moved(connection: Connection, *, site: SiteId) -> None:
    """Someone's place changed without a call (a departure, a priority mark, a transfer):
    "almost up" by mail and text to whoever is now near the front of their line."""
    outbox.on_line_moved(connection, site=site)
    texts.on_line_moved(connection, site=site)


def left(connection: Connection, ticket: TicketView, *, site: SiteId) -> None:
    """The visitor left the line from their phone: everyone behind moved up."""
    line_moved(connection, site=site)
    webhooks.queue(connection, "ticket.cancelled", ticket, site=site, reason="left")


def closed(connection: Connection, tickets: list[TicketView], *, site: SiteId) -> None:
    """End of day: the site's waiting tickets were cancelled."""
    for ticket in tickets:
        webhooks.queue(connection, "ticket.cancelled", ticket, site=site, reason="closed")
