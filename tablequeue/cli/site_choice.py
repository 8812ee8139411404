"""`--site SLUG` for every per-site command (default: the default site, DEFAULT_SITE), and
slugs turned into sites with a clear error for one that does not exist."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import click

from tablequeue.db import unit_of_work
from tablequeue.outcomes import SiteView
from tablequeue.service import sites


def site_named(slug: str | None) -> SiteView:
    """The site with this slug (None: the default site); a ClickException if there is none."""
    with unit_of_work() as session:
        site = sites.default_site(session) if slug is None else sites.find(session, slug)
    if site is None:
        raise click.ClickException(f"no site {slug!r} (see `flask --app app site list`)")
    return site


def sites_named(slugs: Sequence[str]) -> list[SiteView]:
    return [site_named(slug) for slug in dict.fromkeys(slugs)]  # once each, in order


def per_site(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command `--site SLUG`; it is called with `site=` the SiteView. Inside the
    command's app context (Flask's AppGroup wraps what this returns)."""

    @click.option("--site", "slug", metavar="SLUG",
                  help="The site's slug (default: the default site, DEFAULT_SITE).")
    @functools.wraps(command)
    def with_site(*args: Any, slug: str | None, **kwargs: Any) -> None:
        command(*args, site=site_named(slug), **kwargs)

    return with_site
