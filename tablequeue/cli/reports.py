"""`flask --app app reports warm|forget`: the kept days behind /admin/reports.

A report counts the finished days it has no kept figures for, then keeps them (see
tablequeue/service/reports/rollups.py): the first report of a long period is the slow
one. `warm` does that ahead of time, e.g. from cron after the day is closed."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import click
from flask.cli import AppGroup

from tablequeue.cli.site_choice import per_site
from tablequeue.db import unit_of_work
from tablequeue.outcomes import SiteView
from tablequeue.service.reports import rollups
from tablequeue.service.reports.period import MAX_DAYS, Period, today

reports_cli = AppGroup("reports", help="Kept figures of finished days for /admin/reports.")


@reports_cli.command("warm")
@per_site
@click.option("--days", type=click.IntRange(1, MAX_DAYS), default=366, show_default=True,
              help="how many days back from today, in the site's time zone")
def warm(days: int, site: SiteView) -> None:
    """Count and keep the site's finished days among the last DAYS (today's never: it can
    change)."""
    zone = ZoneInfo(site.timezone)
    last = today(zone)
    added = rollups.warm(Period(last - timedelta(days=days - 1), last, zone, site=site.id))
    click.echo(f"{added} day(s) counted and kept ({zone.key})")


@reports_cli.command("forget")
def forget() -> None:
    """Forget every kept day, of every site: the next reports count them again."""
    with unit_of_work() as session:
        gone = rollups.forget_all(session)
    click.echo(f"{gone} kept day(s) forgotten")
