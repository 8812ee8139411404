"""`flask --app app webhooks add|list|remove` (a site's endpoints; `add` prints the
secret, once, as the last line) and `flask --app app sms sender` (a site's own sender
number; without one, SMS_URL's `from`)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from tablequeue.cli.site_choice import per_site
from tablequeue.db import unit_of_work
from tablequeue.envvars import E164
from tablequeue.outcomes import SiteView
from tablequeue.service import sites, text_subscriptions, webhooks

webhooks_cli = AppGroup("webhooks", help="Webhook endpoints: where a site's ticket events "
                                         "are POSTed, signed (Standard Webhooks).")
sms_cli = AppGroup("sms", help="Text messages (SMS_URL): each site's sender number.")


@webhooks_cli.command("add")
@per_site
@click.argument("url")
@click.option("--events", default=",".join(webhooks.EVENTS), show_default=True,
              help="Comma-separated: " + ", ".join(webhooks.EVENTS) + ".")
@click.option("--personal", is_flag=True,
              help="Also send the visitor's email and name (the endpoint then holds "
                   "personal data).")
def add(url: str, events: str, personal: bool, site: SiteView) -> None:
    """Send the site's EVENTS to URL (https://, a public address; WEBHOOK_ALLOW_HTTP
    lists exceptions). Prints the endpoint's secret once, as the last line."""
    try:
        endpoint_id, secret = webhooks.add(url, webhooks.parse_events(events), personal,
                                           site=site.id)
    except webhooks.WebhookError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"added webhook {endpoint_id} of {site.slug}: {url.strip()}")
    click.echo("its secret (verify each webhook-signature with it; shown this once):")
    click.echo(secret)


@webhooks_cli.command("list")
@click.option("--site", "slug", metavar="SLUG", help="Only this site's (default: every site).")
def list_(slug: str | None) -> None:
    """One line per endpoint: id, site, URL, events, personal, waiting and failed
    deliveries. Secrets are never shown again."""
    with unit_of_work() as session:
        every = {s.id: s for s in sites.all_sites(session)}
        chosen = sites.find(session, slug) if slug else None
    if slug and chosen is None:
        raise click.ClickException(f"no site {slug!r} (see `flask --app app site list`)")
    for site_id, hook in webhooks.endpoints(site=chosen.id if chosen else None):
        click.echo(f"{hook.id}\t{every[site_id].slug}\t{hook.url}\t{','.join(hook.events)}\t"
                   f"{'personal' if hook.personal else '-'}\t{hook.pending} waiting\t"
                   f"{hook.failed} failed")


@webhooks_cli.command("remove")
@click.argument("endpoint_id", type=int)
def remove(endpoint_id: int) -> None:
    """Remove the endpoint ENDPOINT_ID (see `webhooks list`) and its undelivered events."""
    if not webhooks.remove(endpoint_id):
        raise click.ClickException(f"no webhook {endpoint_id}")
    click.echo(f"removed webhook {endpoint_id}")


@sms_cli.command("sender")
@per_site
@click.argument("number", required=False)
@click.option("--clear", is_flag=True, help="Use SMS_URL's `from` again.")
def sender(number: str | None, clear: bool, site: SiteView) -> None:
    """Show the site's sender number, or set it to NUMBER (E.164, e.g. +12025550100: a
    number of the SMS_URL account that can send texts)."""
    if number and not E164.fullmatch(number):
        raise click.ClickException("the number is in E.164: + then 7 to 15 digits")
    if number or clear:
        text_subscriptions.set_sender(number if not clear else None, site=site.id)
    own = text_subscriptions.sender(site=site.id) if current_app.config["SMS"] else None
    click.echo(f"{site.slug}: texts come from {own or 'nowhere (texts are off here)'}")
