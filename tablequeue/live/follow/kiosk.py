"""The kiosk's follow-link extension: `link ID [email]` makes the follow link of a ticket
this kiosk connection just created; `notices EMAIL` says whether that visitor asked for
email last time. Only the connection that created a ticket can get its link."""

from __future__ import annotations

import weakref
from collections import deque

from tablequeue import protocol, throttle
from tablequeue.live.connection import Connection
from tablequeue.outcomes import Refusal
from tablequeue.service import follow, follow_links
from tablequeue.service.tickets import email_refusal

KEEP = 4  # tickets per kiosk connection whose link may still be asked for
_created: weakref.WeakKeyDictionary[Connection, deque[int]] = weakref.WeakKeyDictionary()


def remember(conn: Connection, ticket_id: int) -> None:
    """Called after this connection's `new` succeeded."""
    _created.setdefault(conn, deque(maxlen=KEEP)).append(ticket_id)


def link(conn: Connection, command: protocol.Link) -> str:
    if command.ticket_id is None or command.ticket_id not in _created.get(conn, ()):
        return protocol.error("link", Refusal.NO_TICKET)
    if command.email and not follow_links.mail_enabled():
        return protocol.error("link", Refusal.MAIL_OFF)
    code, code_hash = follow.new_code()
    url = follow_links.link_url(conn.base_url, code)
    outcome = follow.issue(command.ticket_id, code_hash, command.email, url, site=conn.site)
    if outcome.refusal is not None:
        return protocol.error("link", outcome.refusal)
    return protocol.success_link(command.ticket_id, url)


def notices(conn: Connection, command: protocol.Notices) -> str:
    # Counted as `query` (the same question about an email, the same limits).
    if not throttle.limiter().command_allowed(conn, "query", conn.address):
        return protocol.error("notices", Refusal.RATE_LIMITED)
    email = command.email.strip()
    refusal = email_refusal(email)
    if refusal:
        return protocol.error("notices", refusal)
    return protocol.success_notices(follow.wants_email(email, site=conn.site))
