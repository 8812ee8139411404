"""The HTTP pages: one blueprint per screen (the floor section of /admin has its own)."""

from flask import Flask

from tablequeue.pages import (
    admin,
    admin_floor,
    auth,
    display,
    follow,
    home,
    kiosk,
    reports,
    sitectx,
    staff,
)


def register(app: Flask) -> None:
    for blueprint in (sitectx.bp, home.bp, auth.bp, staff.bp, kiosk.bp, display.bp, admin.bp,
                      admin_floor.bp, reports.bp, follow.bp):
        app.register_blueprint(blueprint)
