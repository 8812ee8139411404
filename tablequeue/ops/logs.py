"""How the process logs, set up here only: init_app (called by create_app) for the app's
records, gunicorn_logconfig (read by gunicorn.conf.py) for gunicorn's own lines.

LOG_FORMAT=json: one JSON object per line, for a log shipper, instead of text.

Then every log record is JSON, gunicorn's own included (gunicorn.conf.py), and these
events are logged as well, each with a request id: `http` (one per HTTP request, the
websocket handshakes included), `ws_open` / `ws_close` and `refused` (a command answered
`error ...`). The request id is the proxy's `X-Request-ID` when it looks like one, else a
new one, and is sent back in the response's `X-Request-ID`.

Never personal data: a request is logged by its route pattern (`/admin/staff/<username>`,
never the name itself) and without its query string; a command by its protocol word (a
word the protocol does not know is `unknown`: a client may type anything) and the fixed
reason text; no email, name, token or cookie is ever put in an event. SQL parameters are
hidden from database error messages (hide_parameters) for the same reason."""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

events = logging.getLogger("tablequeue.events")
_enabled = False
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
ENVIRON_ID, ENVIRON_ROUTE = "tablequeue.request_id", "tablequeue.route"


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time, level, logger, message, then its fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)


def enabled() -> bool:
    return _enabled


def event(name: str, **fields: Any) -> None:
    """One structured event line (only with LOG_FORMAT=json)."""
    if _enabled:
        events.info(name, extra={"fields": {"event": name, "worker": os.getpid(), **fields}})


def request_id() -> str | None:
    from flask import has_request_context, request

    return request.environ.get(ENVIRON_ID) if has_request_context() else None


def command_refused(role: str, word: str, known: bool, reply: str, rid: str | None) -> None:
    """A command answered `error ...`: its word if the protocol knows it, and the reason,
    which for a known word is one of the protocol's fixed texts."""
    if not _enabled:
        return
    reason = reply.split(" ", 2)[2] if known and reply.count(" ") >= 2 else "unknown command"
    event("refused", role=role, command=word if known else "unknown", reason=reason,
          request_id=rid)


class RequestLog:
    """WSGI middleware: a request id for every request, and one `http` event when its
    response is done (an unhandled error's 500 included, which Flask's after_request
    would miss)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        environ[ENVIRON_ID] = rid
        started = time.perf_counter()
        status: list[str] = []

        def start(code: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status.append(code)
            return start_response(code, [*headers, ("X-Request-ID", rid)], *rest)

        try:
            body = self.app(environ, start)
        except BaseException:  # Flask-Sock ends a websocket's request with StopIteration
            self._log(environ, status[0] if status else _unanswered(environ), started)
            raise
        return _Closing(body, lambda: self._log(environ, status[0] if status else _unanswered(environ),
                                                started))

    @staticmethod
    def _log(environ: dict[str, Any], status: str, started: float) -> None:
        event("http", request_id=environ[ENVIRON_ID], method=environ.get("REQUEST_METHOD"),
              route=environ.get(ENVIRON_ROUTE, "(no route)"), status=int(status.split()[0]),
              ms=round((time.perf_counter() - started) * 1000, 1))


def _unanswered(environ: dict[str, Any]) -> str:
    """The status of a response the app never started: a websocket's 101 was written to
    the socket by simple-websocket itself; anything else is an error."""
    return "101" if environ.get("HTTP_UPGRADE", "").lower() == "websocket" else "500"


class _Closing:
    """The response body, with a callback when the server closes it."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self.body, self.done = body, done

    def __iter__(self) -> Any:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.done()


def init_app(app: Any) -> None:
    """The app's logging, once per process: records at LOG_LEVEL from tablequeue's loggers,
    WARNING from everyone else's; with LOG_FORMAT=json, JSON records, the request log and
    the events."""
    json_format = app.config["LOG_FORMAT"] == "json"
    _configure(json_format, app.config["LOG_LEVEL"])
    if json_format:
        _log_requests(app)


def _configure(json_format: bool, level: str) -> None:
    global _enabled
    if json_format:
        _enabled = True
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
        events.setLevel(logging.INFO)
    else:
        logging.basicConfig(level=logging.WARNING)
    logging.getLogger("tablequeue").setLevel(level.upper())


def _log_requests(app: Any) -> None:
    app.wsgi_app = RequestLog(app.wsgi_app)

    from flask import request

    @app.before_request
    def _route() -> None:
        rule = request.url_rule
        request.environ[ENVIRON_ROUTE] = rule.rule if rule is not None else "(no route)"


def gunicorn_logconfig(log_format: str, level: str, access_log: str | None) -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: with LOG_FORMAT=json its own lines are JSON too; empty
    (gunicorn's own text lines) otherwise."""
    if log_format != "json":
        return {}
    console = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "tablequeue.ops.logs.JsonFormatter"}},
        "handlers": {"error_console": dict(console), "console": dict(console)},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["error_console"],
                               "propagate": False, "qualname": "gunicorn.error"},
            # gunicorn's access lines carry raw paths and addresses: only with ACCESS_LOG.
            # The app logs each request itself, by route (RequestLog above).
            "gunicorn.access": {"level": "INFO" if access_log else "CRITICAL",
                                "handlers": ["console"], "propagate": False,
                                "qualname": "gunicorn.access"},
        },
    }
