"""Real websocket clients for tests, and the protocol's ticket JSON read exactly: a
Client reads like docs/protocol.md, a Desk is a staff member's console."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import websocket

QUIET = 0.3  # seconds of silence that count as "nothing more is coming"
EPOCH = "1970-01-01T00:00:00Z"
TICKET_KEYS = ("id", "email", "name", "staff", "start", "end")
RFC3339_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


class Client:
    """A websocket client that reads like the protocol document."""

    def __init__(self, url: str, headers: list[str] | None = None, timeout: float = 10) -> None:
        self.ws = websocket.create_connection(url, timeout=timeout, header=headers or [])

    def send(self, text: str) -> None:
        self.ws.send(text)

    def send_binary(self, data: bytes) -> None:
        self.ws.send(data, opcode=websocket.ABNF.OPCODE_BINARY)

    def recv(self, timeout: float = 10) -> str:
        self.ws.settimeout(timeout)
        message = self.ws.recv()
        assert isinstance(message, str), f"expected a text frame, got {message!r}"
        return message

    def ask(self, text: str) -> str:
        self.send(text)
        return self.recv()

    def answer(self, text: str, timeout: float = 10) -> str:
        """Send a command; its `success ...`/`error ...` reply, skipping broadcasts before it."""
        self.send(text)
        return self.reply(timeout)[0]

    def reply(self, timeout: float = 10) -> tuple[str, list[str]]:
        """The next `success ...` or `error ...` frame, and the broadcasts that came before it."""
        return self.until(lambda m: m.startswith(("success ", "error ")), timeout)

    def until(self, wanted: Callable[[str], bool], timeout: float = 10,
              limit: int = 1000) -> tuple[str, list[str]]:
        """The first message `wanted` accepts, and every message skipped on the way."""
        skipped: list[str] = []
        for _ in range(limit):
            message = self.recv(timeout)
            if wanted(message):
                return message, skipped
            skipped.append(message)
        raise AssertionError(f"no wanted message among {len(skipped)}: {skipped[-5:]!r}")

    def sync(self, timeout: float = 10) -> list[str]:
        """Round-trip a harmless unknown command; every message that arrived before its reply.

        A connection handles its frames one at a time and publishes a command's events
        before it reads the next frame, so after `actor.sync()` every broadcast the actor
        caused has been written to every socket, and `observer.sync()` returns all of them
        that reached the observer: absence is asserted without waiting for silence."""
        self.send("sync")
        return self.until(lambda m: m == "error sync unknown command", timeout)[1]

    def close_code(self, timeout: float = 10, seen: list[str] | None = None) -> int | None:
        """Read until the server's close frame; its status code (None: closed without one).
        The text messages read on the way are appended to `seen`. `timeout` bounds the
        whole wait: a connection kept open (pings answered, nothing said) fails it."""
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"the server kept the connection open for {timeout} s")
            self.ws.settimeout(remaining)
            try:
                opcode, frame = self.ws.recv_data_frame(True)
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                return None
            except websocket.WebSocketTimeoutException:
                raise AssertionError(
                    f"the server kept the connection open for {timeout} s") from None
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                data = frame.data or b""
                return int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            if opcode == websocket.ABNF.OPCODE_TEXT and seen is not None:
                seen.append(frame.data.decode())
        raise AssertionError("the server never closed the connection")

    def drain(self, quiet: float = QUIET) -> list[str]:
        """Every message until the connection has been quiet for `quiet` seconds."""
        messages = []
        while True:
            try:
                messages.append(self.recv(timeout=quiet))
            except websocket.WebSocketTimeoutException:
                return messages

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass
        finally:
            self.ws.shutdown()  # close() gives up without closing the socket if the server left


class Desk:
    """A staff member's console: an account, its token and a connection (maybe at a table)."""

    def __init__(self, name: str, token: str, client: Client, table: int | None,
                 replay: list[str] | None = None) -> None:
        self.name, self.token, self.client, self.table = name, token, client, table
        self.replay = replay or []

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.client, attr)


def ticket(raw: str) -> dict[str, Any]:
    """Parse ticket JSON, checking the exact shape: six keys in order, compact, RFC 3339 Z."""
    pairs = json.loads(raw, object_pairs_hook=lambda items: items)
    assert tuple(k for k, _ in pairs) == TICKET_KEYS, raw
    value = dict(pairs)
    assert json.dumps(value, separators=(",", ":"), ensure_ascii=False) == raw, raw
    assert isinstance(value["id"], int) and not isinstance(value["id"], bool), raw
    assert all(isinstance(value[k], str) for k in TICKET_KEYS[1:]), raw
    assert RFC3339_UTC.fullmatch(value["start"]) and RFC3339_UTC.fullmatch(value["end"]), raw
    return value


def new_ticket(kiosk: Client, email: str, name: str) -> tuple[dict[str, Any], str]:
    """Sign a visitor in at a kiosk; the ticket and its JSON exactly as the kiosk got it."""
    reply = kiosk.ask(f"new {email} {name}")
    assert reply.startswith("success new "), reply
    raw = reply.removeprefix("success new ")
    return ticket(raw), raw


def silent(*clients: Client, quiet: float = QUIET) -> None:
    """Assert that none of `clients` receives anything for a quiet period (waited once)."""
    for i, client in enumerate(clients):
        got = client.drain(quiet if i == 0 else 0.05)
        assert got == [], f"client {i} unexpectedly received {got!r}"
