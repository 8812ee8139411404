"""`flask --app app announce / hours / line`: the floor from the command line. Each runs in
its own process; open screens see the change within a few seconds because every worker
polls these settings (tablequeue.live.floorwatch), with or without a Redis relay."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from tablequeue.live.relay import floornotice
from tablequeue.outcomes import SiteId
from tablequeue.service import floor, hours
from tablequeue.service.directory import directory_of

hours_cli = AppGroup("hours", help="Weekly opening hours in the site's TIMEZONE.")
line_cli = AppGroup("line", help="Close or reopen the line at once.")


def _site() -> SiteId:
    return directory_of(current_app).default().id


def _changed() -> None:
    floornotice.from_command(current_app, _site())  # reads its config, here and now


def _status(now: floor.FloorNow) -> str:
    if not now.closed:
        return "the line is open"
    return f"the line is closed; it opens {floor.describe_opening(now.opens_at, site=_site())}"


@click.command("announce")
@click.argument("text", required=False)
@click.option("--minutes", type=int, help="Take it down after this many minutes.")
@click.option("--clear", is_flag=True, help="Take the current announcement down.")
def announce(text: str | None, minutes: int | None, clear: bool) -> None:
    """Show TEXT (at most 280 characters) on every display, kiosk and staff console."""
    if clear:
        if text or minutes:
            raise click.UsageError("--clear takes no text and no --minutes")
        floor.clear_announcement(site=_site())
        _changed()
        click.echo("announcement cleared")
        return
    if not text:
        raise click.UsageError('give the text, e.g. announce "The printer is down", or --clear')
    try:
        floor.announce(text, minutes, site=_site())
    except floor.FloorError as error:
        raise click.ClickException(str(error)) from None
    _changed()
    click.echo("announced" + (f" for {minutes} minutes" if minutes else " until cleared"))


@hours_cli.command("set")
@click.argument("specs", nargs=-1, required=True)
def hours_set(specs: tuple[str, ...]) -> None:
    """Replace the hours: "mon-fri 09:00-17:00" "sat 10:00-13:00" ..."""
    try:
        lines = floor.set_hours(list(specs), site=_site())
    except (hours.HoursError, floor.FloorError) as error:
        raise click.ClickException(str(error)) from None
    _changed()
    click.echo("\n".join(lines))
    click.echo(_status(floor.floor_now(site=_site())))


@hours_cli.command("show")
def hours_show() -> None:
    """The hours, one line per day (none: always open), and whether the line is open."""
    settings = floor.current_settings(site=_site())
    click.echo("\n".join(hours.describe(settings.openings)) or "no hours set: always open")
    click.echo(f"time zone {settings.zone.key}; {_status(floor.floor_now(site=_site()))}")


@hours_cli.command("clear")
def hours_clear() -> None:
    """No hours: the line is open unless closed with `line close`."""
    floor.clear_hours(site=_site())
    _changed()
    click.echo(f"hours cleared; {_status(floor.floor_now(site=_site()))}")


@line_cli.command("close")
def line_close() -> None:
    """Close now; reopens at the next scheduled opening (without hours: at `line open`)."""
    now = floor.set_line("closed", site=_site())
    _changed()
    click.echo(_status(now))


@line_cli.command("open")
def line_open() -> None:
    """Open now; closes again at the next scheduled closing."""
    now = floor.set_line("open", site=_site())
    _changed()
    click.echo(_status(now))
