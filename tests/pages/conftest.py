"""Fixtures for the page tests of sites: `add_site` makes a site (or finds it, since sites
outlive `fresh`), `join` gives an account its sites and `sign_in` puts a visitor in a
site's line, all through the service in this process on the server's database (as `flask
site add`, `flask staff sites` and a kiosk's `new` do: the subject here is the pages)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tablequeue.outcomes import SiteView
from tests.kit.live import LiveServer

AddSite = Callable[..., SiteView]
Join = Callable[..., None]
SignIn = Callable[[str, str], int]


@pytest.fixture
def add_site(server: LiveServer) -> AddSite:
    def add(slug: str, name: str, *, tables: int = 8, timezone: str = "UTC") -> SiteView:
        from tablequeue.db import unit_of_work
        from tablequeue.service import sites

        with server.app.app_context(), unit_of_work() as session:
            found = sites.find(session, slug)
            if found is None:
                outcome = sites.add(session, slug, name, tables=tables, timezone=timezone)
                assert outcome.refusal is None, outcome.refusal
                found = outcome.value
        served(server, f"/s/{slug}/kiosk/")
        return found

    return add


def served(server: LiveServer, path: str) -> None:
    """Until the server answers `path`: a site made by another process is seen by the
    server's next re-read of the sites (at most every 0.5 s on a miss, and the floor poll)."""
    deadline = time.monotonic() + 10
    while server.http("GET", path)[0] != 200:
        assert time.monotonic() < deadline, f"the server never served {path}"
        time.sleep(0.1)


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
