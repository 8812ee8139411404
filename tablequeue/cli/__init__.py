"""Command-line administration: the `flask --app app ...` commands (`db upgrade` is
Flask-Migrate's). One module a group: sites, staff, floor (announce, hours, line), lines
(service lines), reports, security (device keys, visitors, staff revoke), messaging
(webhooks, sms); per-site commands take `--site SLUG` (site_choice.py)."""

from __future__ import annotations

from flask import Flask

from tablequeue.cli.floor import announce, hours_cli, line_cli
from tablequeue.cli.lines import lines_cli
from tablequeue.cli.messaging import sms_cli, webhooks_cli
from tablequeue.cli.reports import reports_cli
from tablequeue.cli.security import device_cli, staff_revoke, visitors_cli
from tablequeue.cli.sites import site_cli
from tablequeue.cli.staff import staff_cli


def register(app: Flask) -> None:
    staff_cli.add_command(staff_revoke)
    app.cli.add_command(staff_cli)
    for command in (site_cli, device_cli, visitors_cli, reports_cli, announce, hours_cli,
                    line_cli, lines_cli):
        app.cli.add_command(command)
    for command in (webhooks_cli, sms_cli):  # issue 25: webhooks and texts
        app.cli.add_command(command)
