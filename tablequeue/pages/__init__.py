"""The HTTP pages: one blueprint per screen."""

from flask import Flask

from tablequeue.pages import admin, admin_floor, auth, display, follow, home, kiosk, reports, staff  # noqa: F401  (admin_floor adds routes to admin.bp)


def register(app: Flask) -> None:
    for blueprint in (home.bp, auth.bp, staff.bp, kiosk.bp, display.bp, admin.bp, reports.bp,
                      follow.bp):
        app.register_blueprint(blueprint)
