"""`flask --app app announce / hours / line`: a site's floor from the command line (`--site
SLUG`, default: the default site). Each runs in its own process; open screens see the
change within a few seconds because every worker polls these settings
(tablequeue.live.floorwatch), with or without a Redis relay."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from tablequeue.cli.site_choice import per_site
from tablequeue.live.relay import floornotice
from tablequeue.outcomes import SiteView
from tablequeue.service import floor, hours

hours_cli = AppGroup("hours", help="A site's weekly opening hours, in its time zone.")
line_cli = AppGroup("line", help="Close or reopen a site's line at once.")


def _changed(site: SiteView) -> None:
    floornotice.from_command(current_app, site=site.id)  # reads its config, here and now


def _status(now: floor.FloorNow, site: SiteView) -> str:
    if not now.closed:
        return "the line is open"
    return f"the line is closed; it opens {floor.describe_opening(now.opens_at, site=site.id)}"


@click.command("announce")
@per_site
@click.argument("text", required=False)
@click.option("--minutes", type=int, help="Take it down after this many minutes.")
@click.option("--clear", is_flag=True, help="Take the current announcement down.")
def announce(text: str | None, minutes: int | None, clear: bool, site: SiteView) -> None:
    """Show TEXT (at most 280 characters) on the site's displays, kiosks and consoles."""
    if clear:
        if text or minutes:
            raise click.UsageError("--clear takes no text and no --minutes")
        floor.clear_announcement(site=site.id)
        _changed(site)
        click.echo("announcement cleared")
        return
    if not text:
        raise click.UsageError('give the text, e.g. announce "The printer is down", or --clear')
    try:
        floor.announce(text, minutes, site=site.id)
    except floor.FloorError as error:
        raise click.ClickException(str(error)) from None
    _changed(site)
    click.echo("announced" + (f" for {minutes} minutes" if minutes else " until cleared"))


@hours_cli.command("set")
@per_site
@click.argument("specs", nargs=-1, required=True)
def hours_set(specs: tuple[str, ...], site: SiteView) -> None:
    """Replace the hours: "mon-fri 09:00-17:00" "sat 10:00-13:00" ..."""
    try:
        lines = floor.set_hours(list(specs), site=site.id)
    except (hours.HoursError, floor.FloorError) as error:
        raise click.ClickException(str(error)) from None
    _changed(site)
    click.echo("\n".join(lines))
    click.echo(_status(floor.floor_now(site=site.id), site))


@hours_cli.command("show")
@per_site
def hours_show(site: SiteView) -> None:
    """The hours, one line per day (none: always open), and whether the line is open."""
    settings = floor.current_settings(site=site.id)
    click.echo("\n".join(hours.describe(settings.openings)) or "no hours set: always open")
    click.echo(f"time zone {settings.zone.key}; {_status(floor.floor_now(site=site.id), site)}")


@hours_cli.command("clear")
@per_site
def hours_clear(site: SiteView) -> None:
    """No hours: the line is open unless closed with `line close`."""
    floor.clear_hours(site=site.id)
    _changed(site)
    click.echo(f"hours cleared; {_status(floor.floor_now(site=site.id), site)}")


@line_cli.command("close")
@per_site
def line_close(site: SiteView) -> None:
    """Close now; reopens at the next scheduled opening (without hours: at `line open`)."""
    now = floor.set_line("closed", site=site.id)
    _changed(site)
    click.echo(_status(now, site))


@line_cli.command("open")
@per_site
def line_open(site: SiteView) -> None:
    """Open now; closes again at the next scheduled closing."""
    now = floor.set_line("open", site=site.id)
    _changed(site)
    click.echo(_status(now, site))
