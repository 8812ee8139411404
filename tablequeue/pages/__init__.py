"""The HTTP pages: one blueprint per screen (the floor, staff and lines sections of /admin
have their own). A site's screens are SiteBlueprints (sitectx.py): each at today's URL for
the default site and at /s/<slug>/ for every site."""

from flask import Flask

from tablequeue.pages import (
    admin,
    admin_floor,
    admin_lines,
    admin_messages,
    admin_staff,
    auth,
    display,
    follow,
    home,
    kiosk,
    reports,
    site_list,
    sitectx,
    sites_report,
    staff,
    texts,
)


def register(app: Flask) -> None:
    for blueprint in (home.bp, auth.bp, staff.bp, kiosk.bp, display.bp, admin.bp,
                      admin_floor.bp, admin_lines.bp, admin_staff.bp, reports.bp, site_list.bp,
                      sites_report.bp, follow.bp):
        app.register_blueprint(blueprint)
    for blueprint in (texts.bp, admin_messages.bp):  # texts and webhooks
        app.register_blueprint(blueprint)
    app.context_processor(sitectx.template_globals)
    if app.config["OIDC_ISSUER"]:  # signing in through the provider (pages/oidc.py)
        from tablequeue.pages import oidc, oidc_client

        oidc_client.install(app)
        app.register_blueprint(oidc.bp)
