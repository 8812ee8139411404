"""The event log seen from the tests (tests/service/test_event_log*.py): the default and
another site, sealing straight through the app, the rows written since the last look."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa

from tablequeue.db import transaction, unit_of_work
from tablequeue.outcomes import Event, SiteId
from tablequeue.service import eventlog
from tests.kit.database import default_site_id, rows
from tests.kit.live import LiveServer


def main_site(server: LiveServer) -> SiteId:
    with server.engine().connect() as conn:
        return SiteId(default_site_id(server, conn))


def other_site(server: LiveServer, slug: str = "other") -> SiteId:
    with server.engine().begin() as conn:
        conn.execute(sa.text("INSERT INTO sites (slug, name, tables, timezone, created_at) "
                             "VALUES (:slug, :slug, 5, 'UTC', :now)")
                     .bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True))),
                     {"slug": slug, "now": datetime.now(UTC)})
        return SiteId(int(conn.execute(sa.text("SELECT id FROM sites WHERE slug = :s"),
                                       {"s": slug}).scalar_one()))


def sealed(events: list[Event], core: bool = True) -> list[Event]:
    if core:
        with transaction() as conn:
            return eventlog.seal(conn, events)
    with unit_of_work() as session:
        return eventlog.seal(session, events)


def log_of(server: LiveServer) -> list[tuple]:
    return rows(server, "SELECT site_id, seq, body FROM event_log ORDER BY site_id, seq")


class Log:
    """The rows written since the last look: [(site, [event type, ...]), ...]."""

    def __init__(self, server: LiveServer) -> None:
        self.server, self.seen = server, set[tuple[int, int]]()

    def new(self) -> list[tuple[int, list[str]]]:
        found = [r for r in rows(self.server, "SELECT site_id, seq, body FROM event_log "
                                 "ORDER BY at, site_id, seq") if r[:2] not in self.seen]
        self.seen.update(r[:2] for r in found)
        return [(site, [e["type"] for e in json.loads(body)]) for site, _, body in found]


def staff_token(name: str, sites: list[SiteId] | None = None) -> str:
    from tablequeue.service import identity

    identity.add_staff(name, "password123", sites=sites)
    return identity.hash_token(identity.issue_token(name))


def newest(server: LiveServer, site: SiteId) -> int:
    """The site's last number, read as the workers read it."""
    with server.engine().connect() as conn:
        return eventlog.newest(conn, [site])[site]
