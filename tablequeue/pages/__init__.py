"""The HTTP pages: one blueprint per screen."""

from flask import Flask

from tablequeue.pages import auth, home, staff


def register(app: Flask) -> None:
    for blueprint in (home.bp, auth.bp, staff.bp):
        app.register_blueprint(blueprint)
