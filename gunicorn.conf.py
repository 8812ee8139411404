"""gunicorn settings: the gevent worker, so thousands of websockets share one process.

Never preload: the gevent worker monkey-patches before it imports the app, and a
preloaded app would have created its locks and sockets unpatched."""

import os
from pathlib import Path

from tablequeue import borrowed
from tablequeue.config import ConfigError, load
from tablequeue.ops import logs

# Every setting below comes from tablequeue.config, as the app's do: one default and one
# check each. Read here, when gunicorn reads this file (before any worker exists), so a
# bad value stops the server with one line instead of failing every worker it spawns.
try:
    settings = load(Path(__file__).resolve().parent / "instance")
except ConfigError as error:
    raise SystemExit(f"tablequeue: configuration error: {error}") from None

worker_class = "gevent"
workers = settings["WEB_CONCURRENCY"]
worker_connections = settings["WORKER_CONNECTIONS"]
bind = settings["BIND"]
# Websockets live for hours; the gevent worker does not apply `timeout` to them.
timeout = 30
graceful_timeout = 10
keepalive = 5
preload_app = False
accesslog = settings["ACCESS_LOG"]
errorlog = "-"
loglevel = settings["LOG_LEVEL"]
# gunicorn's own lines as JSON too with LOG_FORMAT=json (the app's: tablequeue/ops/logs.py).
logconfig_dict = logs.gunicorn_logconfig(settings["LOG_FORMAT"], loglevel, accesslog)


def on_starting(server):
    """Refuse to start, with one line saying why, rather than respawn failing workers."""
    _metrics_directory()
    if server.cfg.workers > 1 and not settings["REDIS_URL"]:
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
    otherwise a private temporary directory is made and removed at exit. That variable
    stays in the environment, not in tablequeue.config: it is how prometheus_client in
    every worker learns the directory."""
    import tempfile

    if not settings["METRICS_TOKEN"]:
        return
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        directory = tempfile.mkdtemp(prefix="tablequeue-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        os.environ[_OWN_METRICS_DIRECTORY] = directory
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):
        stale.unlink()


def _forget_metrics(worker) -> None:
    """A worker is gone: its live gauges (connections, relay state) leave the sums."""
    if settings["METRICS_TOKEN"] and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    import shutil

    own = os.environ.get(_OWN_METRICS_DIRECTORY)
    if own:
        shutil.rmtree(own, ignore_errors=True)


# gunicorn 27's control socket sits at one fixed path per user ($XDG_RUNTIME_DIR or
# ~/.gunicorn); servers started side by side (tests, several instances) would collide.
control_socket_disable = not settings["GUNICORN_CONTROL_SOCKET"]


# ---- hardening ---------------------------------------------------------------------------

# No `Server: gunicorn` in response heads: gunicorn has no setting for it (tablequeue.borrowed).
borrowed.drop_server_banner()


def post_worker_init(worker):
    """On SIGTERM (graceful stop) and SIGINT/SIGQUIT (Ctrl-C: quick stop), close every
    websocket with 1001 (going away) so clients reconnect at once to the next server,
    instead of waiting out graceful_timeout or seeing a dropped TCP connection, and stop
    the outbox senders (mail, texts, webhooks) claiming rows (see worker_exit). gunicorn's
    own handlers only stop the accept loop, or exit."""
    import signal
    import sys

    import gevent

    from tablequeue import protocol

    # Through the module the app imported, if it did: another app (bench/floor.py) must
    # not import ours here, and has no registry: gunicorn's own handlers stay.
    ours = sys.modules.get("tablequeue.live.registry")
    registry = ours.registry_in(worker.wsgi) if ours is not None else None
    if registry is None:
        return

    def close_all() -> None:
        registry.close_all(protocol.GOING_AWAY, protocol.SHUTTING_DOWN)

    senders = _senders(worker)

    def sender_stop() -> None:
        for sender in senders:
            sender.stop()

    stop, quit_ = worker.handle_exit, worker.handle_quit

    def handle_exit(sig, frame):
        # At once, not when close_all runs: the accept loop goes on for up to a second,
        # and a websocket accepted meanwhile must be refused, not greeted then dropped.
        registry.stopping = True
        sender_stop()
        stop(sig, frame)
        gevent.spawn(close_all)

    def handle_quit(sig, frame):
        registry.stopping = True
        sender_stop()
        # Close first: quitting ends the process without waiting for anything.
        def close_then_quit() -> None:
            close_all()
            quit_(sig, frame)

        gevent.spawn(close_then_quit)

    signal.signal(signal.SIGTERM, handle_exit)
    signal.signal(signal.SIGINT, handle_quit)
    signal.signal(signal.SIGQUIT, handle_quit)


def _mail_sender(worker):
    """The worker's mail sender (tablequeue.ops.mail), if the app it serves started one;
    looked up, like the registry, only through a module the app imported itself."""
    import sys

    mail = sys.modules.get("tablequeue.ops.mail")
    return mail.sender_of(getattr(worker, "wsgi", None)) if mail is not None else None


def _senders(worker):
    """Every outbox sender the worker's app started: mail's, and the text and webhook
    senders (tablequeue.ops.lease), each looked up through a module the app imported."""
    import sys

    lease = sys.modules.get("tablequeue.ops.lease")
    others = lease.senders_of(getattr(worker, "wsgi", None)) if lease is not None else []
    mail = _mail_sender(worker)
    return ([mail] if mail is not None else []) + others


def worker_exit(server, worker):
    """In the exiting worker (after its last request; also called in the arbiter, which
    has no app): a send an outbox sender still has under way gets a moment to end, and is
    otherwise put back, so the next worker sends it at once instead of after its lease.
    Nothing else would: the process ends without resuming the sender's greenlet."""
    for sender in _senders(worker):
        sender.finish()


def child_exit(server, worker):
    """Runs in the arbiter when a worker exits. (gunicorn keeps one hook per name: a second
    `def child_exit` in this file silently replaced the metrics one.)"""
    _forget_metrics(worker)
    _ask_resync()


def _ask_resync() -> None:
    """A worker that died (SIGKILL, out of memory, a crash) may have committed a change it
    never published: ask every worker to catch up from the event log now (each also would
    within EVENT_POLL_SECONDS by its idle poll; one that finds nothing missing sends
    nothing; a room the log cannot serve resyncs from the state)."""
    url = settings["REDIS_URL"]
    if url:
        from tablequeue.live.relay.resync_request import events_channel, request

        request(url, events_channel(settings["REDIS_CHANNEL"]))
