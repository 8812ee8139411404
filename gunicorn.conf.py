"""gunicorn settings: the gevent worker, so thousands of websockets share one process.

Never preload: the gevent worker monkey-patches before it imports the app, and a
preloaded app would have created its locks and sockets unpatched."""

import os

from tablequeue import borrowed

worker_class = "gevent"
# One worker unless a Redis relay carries broadcasts between workers (see README).
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "10000"))
bind = os.environ.get("BIND", "127.0.0.1:8000")
# Websockets live for hours; the gevent worker does not apply `timeout` to them.
timeout = 30
graceful_timeout = 10
keepalive = 5
preload_app = False
accesslog = os.environ.get("ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    # gunicorn's own lines as JSON too (the app's: tablequeue/ops/logs.py).
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "tablequeue.ops.logs.JsonFormatter"}},
        "handlers": {
            "error_console": {"class": "logging.StreamHandler", "formatter": "json",
                              "stream": "ext://sys.stderr"},
            "console": {"class": "logging.StreamHandler", "formatter": "json",
                        "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "gunicorn.error": {"level": loglevel.upper(), "handlers": ["error_console"],
                               "propagate": False, "qualname": "gunicorn.error"},
            # gunicorn's access lines carry raw paths and addresses: only with ACCESS_LOG.
            # The app logs each request itself, by route (tablequeue/ops/logs.py).
            "gunicorn.access": {"level": "INFO" if accesslog else "CRITICAL",
                                "handlers": ["console"], "propagate": False,
                                "qualname": "gunicorn.access"},
        },
    }


def on_starting(server):  # noqa: ANN001, ANN201  (gunicorn's hook signature)
    """Refuse to start, with one line saying why, rather than respawn failing workers."""
    from pathlib import Path

    from tablequeue.config import ConfigError, load

    try:
        load(Path(__file__).resolve().parent / "instance")
    except ConfigError as error:
        raise SystemExit(f"tablequeue: configuration error: {error}") from None
    _metrics_directory()
    if server.cfg.workers > 1 and not os.environ.get("REDIS_URL"):
        raise SystemExit(
            "tablequeue: more than one worker needs REDIS_URL: without a Redis relay each "
            "worker would only broadcast to its own connections. Set WEB_CONCURRENCY=1 "
            "or set REDIS_URL."
        )

# ---- /metrics across workers (tablequeue/ops/metrics.py) ------------------------------------
_OWN_METRICS_DIRECTORY = "TABLEQUEUE_OWN_METRICS_DIRECTORY"


def _metrics_directory() -> None:
    """With METRICS_TOKEN: prometheus_client's multiprocess directory, set before the
    workers fork (they import prometheus_client after, and read it then), emptied so that
    counts of an earlier run do not add in. PROMETHEUS_MULTIPROC_DIR may name one;
    otherwise a private temporary directory is made and removed at exit."""
    import tempfile
    from pathlib import Path

    if not os.environ.get("METRICS_TOKEN"):
        return
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        directory = tempfile.mkdtemp(prefix="tablequeue-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        os.environ[_OWN_METRICS_DIRECTORY] = directory
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):
        stale.unlink()


def _forget_metrics(worker) -> None:  # noqa: ANN001
    """A worker is gone: its live gauges (connections, relay state) leave the sums."""
    if os.environ.get("METRICS_TOKEN") and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ANN001, ANN201  (gunicorn's hook signature)
    import shutil

    own = os.environ.get(_OWN_METRICS_DIRECTORY)
    if own:
        shutil.rmtree(own, ignore_errors=True)


# gunicorn 27's control socket sits at one fixed path per user ($XDG_RUNTIME_DIR or
# ~/.gunicorn); servers started side by side (tests, several instances) would collide.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "") == ""


# ---- hardening ---------------------------------------------------------------------------

# No `Server: gunicorn` in response heads: gunicorn has no setting for it (tablequeue.borrowed).
borrowed.drop_server_banner()


def post_worker_init(worker):  # noqa: ANN001, ANN201  (gunicorn's hook signature)
    """On SIGTERM (graceful stop) and SIGINT/SIGQUIT (Ctrl-C: quick stop), close every
    websocket with 1001 (going away) so clients reconnect at once to the next server,
    instead of waiting out graceful_timeout or seeing a dropped TCP connection.
    gunicorn's own handlers only stop the accept loop, or exit."""
    import signal

    import gevent

    from tablequeue import protocol

    registry = getattr(worker.wsgi, "extensions", {}).get("tablequeue.registry")
    if registry is None:  # not the app (bench/floor.py): gunicorn's own handlers stay
        return

    def close_all() -> None:
        registry.close_all(protocol.GOING_AWAY, protocol.SHUTTING_DOWN)

    stop, quit_ = worker.handle_exit, worker.handle_quit

    def handle_exit(sig, frame):  # noqa: ANN001, ANN202
        # At once, not when close_all runs: the accept loop goes on for up to a second,
        # and a websocket accepted meanwhile must be refused, not greeted then dropped.
        registry.stopping = True
        stop(sig, frame)
        gevent.spawn(close_all)

    def handle_quit(sig, frame):  # noqa: ANN001, ANN202
        registry.stopping = True
        # Close first: quitting ends the process without waiting for anything.
        gevent.spawn(lambda: (close_all(), quit_(sig, frame)))

    signal.signal(signal.SIGTERM, handle_exit)
    signal.signal(signal.SIGINT, handle_quit)
    signal.signal(signal.SIGQUIT, handle_quit)


def child_exit(server, worker):  # noqa: ANN001, ANN201  (gunicorn's hook signature)
    """Runs in the arbiter when a worker exits. (gunicorn keeps one hook per name: a second
    `def child_exit` in this file silently replaced the metrics one.)"""
    _forget_metrics(worker)
    _ask_resync()


def _ask_resync() -> None:
    """A worker that died (SIGKILL, out of memory, a crash) may have committed a change it
    never published, and no relay broke, so no worker would resync on its own: ask every
    worker to (a resync that finds nothing missing sends nothing)."""
    url = os.environ.get("REDIS_URL")
    if url:
        from tablequeue.live.relay.resync_request import events_channel, request

        request(url, events_channel(os.environ.get("REDIS_CHANNEL", "").strip() or "tablequeue"))
