"""A real webhook consumer on 127.0.0.1: it checks every delivery's signature with the
reference `standardwebhooks` library (the secret that `webhooks add` printed, per path),
keeps what it received, and can fail (500), redirect (302), answer too late, or go down
and come back on the same port; over http, or https with a test CA's certificate."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def type(self) -> str:
        return str(self.payload.get("type", ""))

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.payload.get("data", {}))


class WebhookReceiver:
    def __init__(self, port: int, host: str = "127.0.0.1",
                 tls: tuple[Path, Path] | None = None) -> None:
        """`tls`: (certificate, key) to listen with https."""
        self.port, self.host, self.tls = port, host, tls
        self.secrets: dict[str, str] = {}  # path: its endpoint's whsec_ secret
        self.mode = "ok"  # ok, fail, redirect, slow
        self.slow_seconds = 8.0
        self.deliveries: list[Delivery] = []
        self.attempts = 0  # every request, answered well or not
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        self._server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        self._server.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def up(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        with self.lock:
            self.deliveries.clear()
            self.attempts = 0
        self.secrets.clear()
        self.mode = "ok"

    def received(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)

    def wait_for(self, wanted: Callable[[list[Delivery]], bool],
                 timeout: float = 30) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if wanted(got):
                return got
            time.sleep(0.05)
        raise AssertionError(f"webhooks never arrived as wanted; got "
                             f"{[(d.path, d.type, d.data.get('ticket')) for d in got]}")


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.lock:
                receiver.attempts += 1
            if receiver.mode == "slow":
                time.sleep(receiver.slow_seconds)
            if receiver.mode in ("fail", "slow"):
                return self._reply(500)
            if receiver.mode == "redirect":
                return self._reply(302, {"Location": receiver.url("/elsewhere")})
            secret = receiver.secrets.get(self.path)
            try:
                payload = Webhook(secret).verify(body, headers) if secret else {}
                verified = bool(secret)
            except WebhookVerificationError:
                payload, verified = json.loads(body), False
            with receiver.lock:
                receiver.deliveries.append(Delivery(self.path, headers, body, verified,
                                                    payload))
            self._reply(204 if verified else 400)
            return None

        def _reply(self, status: int, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

    return Handler
