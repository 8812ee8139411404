"""The HTTP pages: one blueprint per screen."""

from flask import Flask

from tablequeue.pages import admin, auth, display, home, kiosk, reports, staff


def register(app: Flask) -> None:
    for blueprint in (home.bp, auth.bp, staff.bp, kiosk.bp, display.bp, admin.bp, reports.bp):
        app.register_blueprint(blueprint)
