"""Fixtures for the page tests of sites: `add_site` makes a site (or finds it, since sites
outlive `fresh`), `join` gives an account its sites and `sign_in` puts a visitor in a
site's line, all through the service in this process on the server's database (as `flask
site add`, `flask staff sites` and a kiosk's `new` do: the subject here is the pages)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest

from tablequeue.outcomes import SiteView
from tests.kit.live import LiveServer

AddSite = Callable[..., SiteView]
Join = Callable[..., None]
SignIn = Callable[[str, str], int]


@pytest.fixture
def add_site(server: LiveServer) -> AddSite:
    """add_site("career", "Career office"): a new site under a slug never used before
    ("career-1a2b3c4d"; `fresh` removes the sites a test made, and a worker may remember an
    old slug's site for a moment), back once every worker of the server serves it."""

    def add(prefix: str, name: str, *, tables: int = 8, timezone: str = "UTC") -> SiteView:
        from tablequeue.db import unit_of_work
        from tablequeue.service import sites

        slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
        with server.app.app_context(), unit_of_work() as session:
            outcome = sites.add(session, slug, name, tables=tables, timezone=timezone)
            assert outcome.refusal is None, outcome.refusal
        served(server, f"/s/{slug}/kiosk/")
        return outcome.value

    return add


def served(server: LiveServer, path: str, status: int = 200) -> None:
    """Until every worker answers `path` with `status`: a worker sees a site another process
    added or removed at its next re-read of the sites (at a miss, at most every 0.5 s, and
    at every floor poll)."""
    poll = float(server.env.get("FLOOR_POLL_SECONDS") or 1)
    started = time.monotonic()
    while server.http("GET", path)[0] != status:
        assert time.monotonic() < started + 10, f"the server never answered {path} {status}"
        time.sleep(0.1)
    if int(server.env.get("WEB_CONCURRENCY") or 1) > 1:  # the other workers' next poll
        time.sleep(max(0.0, started + poll + 0.5 - time.monotonic()))


@pytest.fixture
def until(server: LiveServer) -> Callable[..., None]:
    """until("/s/x/kiosk/", 404): once every worker answers so (a site added or removed)."""
    return lambda path, status=200: served(server, path, status)


@pytest.fixture
def join(server: LiveServer) -> Join:
    """join("alice", "career", admin=True): alice works at career only (its admin, if so)."""

    def join_(username: str, *slugs: str, admin: bool = False) -> None:
        from sqlalchemy import select

        from tablequeue.db import unit_of_work
        from tablequeue.models import Staff
        from tablequeue.service import sites

        with server.app.app_context(), unit_of_work() as session:
            staff_id = session.scalar(select(Staff.id).where(Staff.username == username))
            assert staff_id is not None, username
            found = [sites.find(session, slug) for slug in slugs]
            ids = [site.id for site in found if site is not None]
            sites.set_sites(session, staff_id, ids)
            for site in ids:
                sites.set_site_admin(session, staff_id, site, admin)

    return join_


@pytest.fixture
def sign_in(server: LiveServer) -> SignIn:
    """sign_in("career", "ada@example.org"): a waiting ticket at that site; its id."""

    def new(slug: str, email: str) -> int:
        from tablequeue.db import unit_of_work
        from tablequeue.service import sites, tickets

        with server.app.app_context():
            with unit_of_work() as session:
                site = sites.find(session, slug)
            assert site is not None, slug
            outcome = tickets.new(email, "Visitor Person", site=site.id)
        assert outcome.refusal is None, outcome.refusal
        return outcome.value.id

    return new


@pytest.fixture
def sign_in_line(server: LiveServer) -> Callable[[str, str, str], int]:
    """sign_in_line("main", "Aid", "ada@example.org"): a waiting ticket in that line of that
    site (as a kiosk's `join`); its id."""

    def new(slug: str, line: str, email: str) -> int:
        from tablequeue.db import unit_of_work
        from tablequeue.service import lines, sites, tickets

        with server.app.app_context():
            with unit_of_work() as session:
                site = sites.find(session, slug)
                assert site is not None, slug
                found = lines.by_name(session, site.id, line)
            assert found is not None, line
            outcome = tickets.new(email, "Visitor Person", site=site.id, line=found.id)
        assert outcome.refusal is None, outcome.refusal
        return outcome.value.id

    return new
