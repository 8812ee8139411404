"""The mail outbox: rows written in the transaction of the change they announce
(tablequeue.mail sends them). Without SMTP_URL and MAIL_FROM nothing is written."""

from __future__ import annotations

from sqlalchemy.engine import Connection


def on_sign_in(connection: Connection, ticket_id: int, link: str) -> None:
    """The sign-in message: ticket number and follow link (filled in by the email step)."""


def on_line_moved(connection: Connection) -> None:
    """"You're almost up" for the subscribed ticket that now has NOTIFY_AHEAD ahead."""
