"""The HTTP pages: one blueprint per screen (the floor and staff sections of /admin have
their own). A site's screens are SiteBlueprints (sitectx.py): each at today's URL for the
default site and at /s/<slug>/ for every site."""

from flask import Flask

from tablequeue.pages import (
    admin,
    admin_floor,
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
)


def register(app: Flask) -> None:
    for blueprint in (home.bp, auth.bp, staff.bp, kiosk.bp, display.bp, admin.bp,
                      admin_floor.bp, admin_staff.bp, reports.bp, site_list.bp,
                      sites_report.bp, follow.bp):
        app.register_blueprint(blueprint)
    app.context_processor(sitectx.template_globals)
