"""Fixtures for the page tests of sites: `add_site` makes a site (or finds it, since sites
outlive `fresh`) and `join` gives an account a site, both through the service in this
process on the server's database, as `flask site add` and `flask staff sites` do."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tablequeue.outcomes import SiteView
from tests.kit.live import LiveServer

AddSite = Callable[..., SiteView]
Join = Callable[..., None]


@pytest.fixture
def add_site(server: LiveServer) -> AddSite:
    def add(slug: str, name: str, *, tables: int = 8, timezone: str = "UTC") -> SiteView:
        from tablequeue.db import unit_of_work
        from tablequeue.service import sites

        with server.app.app_context(), unit_of_work() as session:
            found = sites.find(session, slug)
            if found is not None:
                return found
            outcome = sites.add(session, slug, name, tables=tables, timezone=timezone)
            assert outcome.refusal is None, outcome.refusal
            return outcome.value

    return add


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
