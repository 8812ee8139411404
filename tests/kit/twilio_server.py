"""A stand-in for Twilio's Messages API on 127.0.0.1, speaking its contract, so that the
official `twilio` library's real requests are exercised (SMS_URL's api_base points here):
POST and GET /2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP basic auth (the
account SID and auth token), form fields To, From, Body and StatusCallback, JSON answers
(201 with a Message resource, Twilio's error objects otherwise), and status callbacks
("sent", then "delivered") POSTed form-encoded with X-Twilio-Signature, computed here
from Twilio's documented algorithm (HMAC-SHA1 of the URL and the sorted parameters).

It can go down and come back on the same port (connection refused meanwhile), refuse
(503), rate-limit (429), time out (answer nothing for longer than the client waits), and
hold an accepted message's answer (the message exists; the 201 comes later, or never to
a client that died). Callbacks go to the app's real address (`app_base`) but are signed
for PUBLIC_URL, the way Twilio reaches an app behind its proxy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

SID = "AC" + "5ef8" * 8
TOKEN = "test-auth-token-" + "9" * 16
PUBLIC_URL = "https://queue.example.org"
FROM = "+12025550100"
_PATH = re.compile(r"/2010-04-01/Accounts/([^/]+)/Messages\.json")
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def signature(token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: base64(HMAC-SHA1(token, url + each key and value, by key))."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


def sms_env(port: int, sender: str | None = FROM) -> dict[str, str]:
    """A module's SERVER_ENV for an app that texts through a TwilioServer on `port`."""
    query = (f"from={sender}&" if sender else "") + f"api_base=http://127.0.0.1:{port}"
    return {"SMS_URL": f"twilio://{SID}:{TOKEN}@?{query}", "PUBLIC_URL": PUBLIC_URL,
            "SMS_REGION": "GB", "SITE_NAME": "Help Desk", "NOTIFY_AHEAD": "2"}


class TwilioServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.app_base = ""  # where callbacks really go (the live server's address)
        self.mode = "ok"  # ok, refuse, rate_limit, timeout, hold
        self.hold_seconds = 30.0
        self.answer_delay = 0.0  # every accepted message's 201 comes this much later
        self.released = threading.Event()
        self.messages: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.callbacks: list[tuple[str, int]] = []  # (status sent, the app's answer)
        self.unsubscribed: set[str] = set()  # numbers that replied STOP at "Twilio"
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> TwilioServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def up(self) -> bool:
        return self._server is not None

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.requests.clear()
            self.callbacks.clear()
            self.unsubscribed.clear()
        self.mode, self.answer_delay = "ok", 0.0
        self.released.clear()

    def received(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.messages)

    def wait_for(self, wanted: Callable[[list[dict[str, Any]]], bool],
                 timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received()
            if wanted(got):
                return got
            time.sleep(0.05)
        raise AssertionError(f"texts never arrived as wanted; got {[m['Body'] for m in got]}")

    def post_signed(self, path: str, params: dict[str, str], *, token: str = TOKEN,
                    public_url: str = PUBLIC_URL) -> int:
        """POST `params` to the app's `path`, signed as Twilio signs (the URL as
        PUBLIC_URL names it); the app's status. A wrong `token` forges it."""
        request = urllib.request.Request(
            self.app_base + path, data=urlencode(params).encode(), method="POST",
            headers={"X-Twilio-Signature": signature(token, public_url + path, params),
                     "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)
        except OSError:  # the app's worker died under the request
            return 0

    def inbound(self, sender: str, body: str, **forge: str) -> int:
        """A text from `sender` to our number, as Twilio delivers it to /sms/inbound."""
        return self.post_signed("/sms/inbound", {
            "MessageSid": "SM" + secrets.token_hex(16), "AccountSid": SID, "From": sender,
            "To": FROM, "Body": body, "NumMedia": "0", "ApiVersion": "2010-04-01"}, **forge)

    def _callbacks(self, message: dict[str, Any]) -> None:
        time.sleep(0.05)
        for status in ("sent", "delivered"):
            url = message.get("StatusCallback")
            if not url or not self.app_base:
                return
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            answer = self.post_signed(path, {
                "MessageSid": message["sid"], "SmsSid": message["sid"], "AccountSid": SID,
                "MessageStatus": status, "SmsStatus": status, "From": message["From"],
                "To": message["To"], "ApiVersion": "2010-04-01"},
                public_url=f"{parts.scheme}://{parts.netloc}")
            with self.lock:
                self.callbacks.append((status, answer))


def _resource(message: dict[str, Any]) -> dict[str, Any]:
    created = format_datetime(message["created"], usegmt=True)
    return {
        "account_sid": SID, "api_version": "2010-04-01", "body": message["Body"],
        "date_created": created, "date_updated": created, "date_sent": None,
        "direction": "outbound-api", "error_code": None, "error_message": None,
        "from": message["From"], "messaging_service_sid": None, "num_media": "0",
        "num_segments": "1", "price": None, "price_unit": "USD", "sid": message["sid"],
        "status": "queued", "to": message["To"],
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{SID}/Messages/"
                                      f"{message['sid']}/Media.json"},
        "uri": f"/2010-04-01/Accounts/{SID}/Messages/{message['sid']}.json"}


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}


def _handler(twilio: TwilioServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client went away (killed, or gave up waiting)

        def _authorised(self, account: str) -> bool:
            expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
            return account == SID and self.headers.get("Authorization") == f"Basic {expected}"

        def _route(self) -> str | None:
            with twilio.lock:
                twilio.requests.append((self.command, self.path))
            found = _PATH.fullmatch(urlsplit(self.path).path)
            if found is None:
                self._answer(404, _error(20404, "The requested resource was not found", 404))
                return None
            if not self._authorised(found.group(1)):
                self._answer(401, _error(20003, "Authenticate", 401))
                return None
            return found.group(1)

        def do_GET(self) -> None:
            if self._route() is None:
                return
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            found = [_resource(m) for m in reversed(twilio.received())
                     if m["To"] == query.get("To", m["To"])
                     and m["From"] == query.get("From", m["From"])]
            size = int(query.get("PageSize", "50"))
            self._answer(200, {"messages": found[:size], "page": 0, "page_size": size,
                               "start": 0, "end": max(0, min(size, len(found)) - 1),
                               "first_page_uri": self.path, "next_page_uri": None,
                               "previous_page_uri": None, "uri": self.path})

        def do_POST(self) -> None:
            if self._route() is None:
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if twilio.mode == "refuse":
                return self._answer(503, _error(20503, "Service Unavailable", 503))
            if twilio.mode == "rate_limit":
                return self._answer(429, _error(20429, "Too Many Requests", 429))
            if twilio.mode == "timeout":
                time.sleep(twilio.hold_seconds)
                return None  # the client gave up long ago; nothing was created
            to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
            if not _E164.fullmatch(to):
                return self._answer(400, _error(21211, f"The 'To' number {to} is not a "
                                                       "valid phone number.", 400))
            if not sender or not body:
                return self._answer(400, _error(21602, "Message body is required.", 400))
            if to in twilio.unsubscribed:
                return self._answer(400, _error(21610, "Attempt to send to unsubscribed "
                                                       "recipient", 400))
            message = {**form, "sid": "SM" + secrets.token_hex(16),
                       "created": datetime.now(UTC)}
            with twilio.lock:
                twilio.messages.append(message)
            if twilio.mode == "hold":
                twilio.released.wait(twilio.hold_seconds)
            time.sleep(twilio.answer_delay)
            self._answer(201, _resource(message))
            threading.Thread(target=twilio._callbacks, args=(message,), daemon=True).start()
            return None

    return Handler
