"""`flask --app app site add|list|set|remove`: the offices of the deployment. A change
reaches running servers without a restart: their directory of sites re-reads the
database (tablequeue.service.directory), and the floor notice makes them re-read the
site's floor at once."""

from __future__ import annotations

from typing import NoReturn

import click
from flask import current_app
from flask.cli import AppGroup

from tablequeue.cli.site_choice import site_named
from tablequeue.db import unit_of_work
from tablequeue.live.relay import floornotice
from tablequeue.outcomes import Refusal, SiteView
from tablequeue.service import floor, sites, stats
from tablequeue.service.eventlog import sealed

site_cli = AppGroup("site", help="Sites: the offices of this deployment, each with its own "
                                 "tables, screens, staff, hours and reports.")


def _fail(reason: str) -> NoReturn:
    raise click.ClickException(reason)


def _described(site: SiteView) -> str:
    tables = f"{site.tables} table" + ("" if site.tables == 1 else "s")
    return f"{site.slug}\t{site.name}\t{tables}\t{site.timezone}"


def _open_now(site: SiteView) -> str:
    now = floor.floor_now(site=site.id)
    if not now.closed:
        return "open"
    return f"closed, opens {floor.describe_opening(now.opens_at, site=site.id)}"


@site_cli.command("add")
@click.argument("slug")
@click.argument("name")
@click.option("--tables", type=int, help="How many tables (default: TABLE_COUNT).")
@click.option("--timezone", metavar="ZONE",
              help="IANA time zone, e.g. Europe/Berlin (default: TIMEZONE).")
def add(slug: str, name: str, tables: int | None, timezone: str | None) -> None:
    """Add the site SLUG (its URLs: /s/SLUG/kiosk, /s/SLUG/staff, /s/SLUG/display ...)."""
    config = current_app.config
    try:
        with unit_of_work() as session:
            outcome = sites.add(session, slug, name,
                                tables=config["TABLE_COUNT"] if tables is None else tables,
                                timezone=timezone or config["TIMEZONE"].key)
    except sites.SiteError as error:
        _fail(str(error))
    if outcome.refusal is not None:
        _fail(f"a site {slug!r} exists already")  # Refusal.SITE_TAKEN, the only one
    site = outcome.value
    click.echo(f"added {_described(site)}")
    click.echo(f"its screens: /s/{site.slug}/kiosk /s/{site.slug}/staff /s/{site.slug}/display "
               f"(admin: /s/{site.slug}/admin); staff work there after "
               f"`staff sites NAME {site.slug} ...`")


@site_cli.command("list")
def list_() -> None:
    """One line per site: slug, name, tables, time zone, open or closed now."""
    with unit_of_work() as session:
        every = sites.all_sites(session)
    for site in every:
        default = "\tdefault" if sites.is_default(site) else ""
        click.echo(f"{_described(site)}\t{_open_now(site)}{default}")


@site_cli.command("set")
@click.argument("slug")
@click.option("--name", help="A new name (the slug never changes).")
@click.option("--tables", type=int, help="How many tables (refused while one that would go "
                                         "is held).")
@click.option("--timezone", metavar="ZONE", help="IANA time zone: its hours are read in it.")
def set_(slug: str, name: str | None, tables: int | None, timezone: str | None) -> None:
    """Change the site SLUG's name, number of tables or time zone."""
    if name is None and tables is None and timezone is None:
        raise click.UsageError("give --name, --tables and/or --timezone")
    site = site_named(slug)
    try:
        with unit_of_work() as session:
            changed = sealed(session, sites.update(session, site.id, name=name, tables=tables,
                                                   timezone=timezone)).value
    except sites.SiteError as error:
        _fail(str(error))
    floornotice.from_command(current_app, site=site.id)
    click.echo(f"changed {_described(changed)}")


@site_cli.command("remove")
@click.argument("slug")
def remove(slug: str) -> None:
    """Remove the site SLUG and everything of it: tickets, visitors, follow links, mail,
    device keys, hours, announcement and kept report days. Refused while anyone waits or
    is being served there, and for the default site."""
    site = site_named(slug)
    with unit_of_work() as session:
        outcome = sites.remove(session, site.id)
    if outcome.refusal is Refusal.SITE_DEFAULT:
        _fail(f"{slug} is the default site (DEFAULT_SITE): it serves today's URLs and "
              "cannot be removed")
    if outcome.refusal is Refusal.SITE_BUSY:
        waiting = stats.waiting_count(site=site.id)
        _fail(f"cannot remove {slug}: someone is waiting or being served there "
              f"({waiting} waiting); serve or cancel them first "
              f"(`line close --site {slug}` stops new sign-ins)")
    floornotice.from_command(current_app, site=site.id)
    click.echo(f"removed site {slug}")
