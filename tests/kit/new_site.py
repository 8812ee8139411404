"""A site made while the server runs, for the tests of rooms and channels (tests/live,
tests/scale) and the sites bench: made through the service, as `flask site add` does, under
a slug never used before, and returned once every worker of the server serves it."""

from __future__ import annotations

import uuid

from tablequeue.outcomes import SiteId
from tests.kit.frames import handshake
from tests.kit.live import LiveServer


def add_site(server: LiveServer, prefix: str = "annex", *, wait: bool = True,
             tables: int = 5) -> tuple[str, SiteId]:
    """(slug, id) of a new site. A fresh slug: `fresh` removes the sites a test made, and a
    worker's directory of sites may remember an old slug's id for a moment. With `wait`,
    checks that a handshake under it succeeds at once."""
    from tablequeue.db import unit_of_work
    from tablequeue.service import sites

    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    with server.app.app_context(), unit_of_work() as session:
        outcome = sites.add(session, slug, slug, tables=tables, timezone="UTC")
        assert outcome.refusal is None, outcome.refusal
        site = outcome.value.id
    if wait:  # any worker's first miss of the slug waits for a read of the sites after it
        sock, head = handshake(server, f"/s/{slug}/ws/kiosk", offer_deflate=False)
        sock.close()
        assert status(head) == 101, head
    return slug, site


def admin_token(server: LiveServer, name: str) -> str:
    """A new admin of every site (a member of each, so its console works anywhere), and a
    session token for it."""
    from tablequeue.service import identity

    with server.app.app_context():
        identity.add_staff(name, "password123", admin=True)
        return identity.issue_token(name)


def status(head: str) -> int:
    """The status code of a raw handshake's response head (tests.kit.frames.handshake)."""
    return int(head.split(" ", 2)[1])
