"""The HTTP pages: one blueprint per screen (the floor section of /admin has its own)."""

from flask import Flask

from tablequeue.pages import admin, admin_floor, auth, display, follow, home, kiosk, reports, staff


def register(app: Flask) -> None:
    for blueprint in (home.bp, auth.bp, staff.bp, kiosk.bp, display.bp, admin.bp,
                      admin_floor.bp, reports.bp, follow.bp):
        app.register_blueprint(blueprint)
    if app.config["OIDC_ISSUER"]:  # signing in through the provider (pages/oidc.py)
        from tablequeue.pages import oidc, oidc_client

        oidc_client.install(app)
        app.register_blueprint(oidc.bp)
