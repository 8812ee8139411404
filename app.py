"""The application factory: `flask --app app ...` and wsgi.py both start here.

It builds; it starts nothing. The background loops of a serving worker are started by
wsgi.py (tablequeue.live.start), so a `flask` command runs none."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from tablequeue import config as configuration

ROOT = Path(__file__).resolve().parent


def create_app(overrides: Mapping[str, Any] | None = None, *, serving: bool = False) -> Flask:
    """Build the app: configuration from the environment, then `overrides` (tests).
    `serving` (wsgi.py) leaves out what only the `flask` commands use: Flask-Migrate
    imports Alembic, ~11 MB in every worker."""
    app = Flask(__name__, instance_path=str(ROOT / "instance"),
                template_folder="templates", static_folder="static")
    app.config.from_mapping(configuration.load(Path(app.instance_path)))
    if overrides:
        app.config.from_mapping(overrides)
    from tablequeue.ops import logs

    logs.init_app(app)  # first: what the rest of the factory logs is formatted already
    _database(app, serving)
    _live(app)
    from tablequeue import cli, pages, security, throttle
    from tablequeue.ops import health, metrics

    app.register_blueprint(health.bp)
    metrics.init_app(app)
    security.init_app(app)
    throttle.init_app(app)
    pages.register(app)
    cli.register(app)
    return app


def _database(app: Flask, serving: bool) -> None:
    from tablequeue import db as engine_setup
    from tablequeue.extensions import db

    db.init_app(app)
    with app.app_context():
        engine_setup.prepare(db.engine)  # before anything connects
        if db.engine.dialect.name == "postgresql":
            from tablequeue.service import pgseal

            pgseal.install(db.engine)  # the event log's seal rides with COMMIT
    if not serving:
        from flask_migrate import Migrate

        Migrate(app, db, render_as_batch=True, directory=str(ROOT / "migrations"))


def _live(app: Flask) -> None:
    """The websocket routes and who receives what; their loops wait for live.start."""
    from tablequeue.extensions import sock
    from tablequeue.live import (
        catchup,
        detached,
        floorwatch,
        sockets,  # noqa: F401  (its import registers the four routes)
    )
    from tablequeue.live import registry as live_registry
    from tablequeue.live.follow import hub as follow_hub
    from tablequeue.live.registry import Registry, slug_reader
    from tablequeue.service.line_views import LineReader
    from tablequeue.service.stats import waiting_counter
    from tablequeue.service.tables import assignment_reader

    if detached.available():  # sockets.py reads each websocket itself (tablequeue/live/detached.py)
        app.config["SOCK_SERVER_OPTIONS"] = {**app.config["SOCK_SERVER_OPTIONS"],
                                             **detached.SERVER_OPTIONS}
    sock.init_app(app)
    registry = Registry(
        display_shows_email=app.config["DISPLAY_SHOWS_EMAIL"], waiting_count=waiting_counter(app),
        tables_now=assignment_reader(app), slug_of=slug_reader(app),
        line_reader=LineReader(app), event_log_strict=app.config["EVENT_LOG_STRICT"],
    )
    live_registry.install(app, registry)
    follow_hub.install(app, registry)
    catchup.install(registry)
    floorwatch.install(app)
    if app.config.get("REDIS_URL"):  # else redis (~6 MB) is never imported
        from tablequeue.live.relay import pubsub

        pubsub.install(app, registry)
