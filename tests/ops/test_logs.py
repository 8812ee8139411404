"""LOG_FORMAT=json on a live server: every line is one JSON object, HTTP requests,
websocket opens and closes and refused commands are there with a request id, and no
email, name, token or password ever appears."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.kit.client import Client
from tests.kit.live import LiveServer

SERVER_ENV = {"LOG_FORMAT": "json"}
EMAIL, NAME = "zebediah.secret@example.org", "Zebediah Quuxington"
PASSWORD = "hunter2-hunter2"


def _lines(server: LiveServer) -> list[dict[str, Any]]:
    text = server.log()
    # A worker may be mid-write: the last line counts once its newline is there.
    complete = text[: text.rfind("\n") + 1]
    lines = [line for line in complete.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        value = json.loads(line)  # fails the test on any line that is not JSON
        assert isinstance(value, dict), line
        parsed.append(value)
    return parsed


def _wait_for(server: LiveServer, wanted: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [line for line in _lines(server) if wanted(line)]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("no such log line in:\n" + server.log()[-4000:])


def test_json_events_and_no_personal_data(fresh: LiveServer,
                                          connect: Callable[[str], Client]) -> None:
    token = fresh.add_staff("grace", PASSWORD)
    cookie = fresh.login("grace", PASSWORD)
    assert cookie is not None
    assert fresh.login("grace", "wrong-" + PASSWORD) is None
    status, headers, _ = fresh.http(
        "GET", "/admin/reports?period=range&from=2026-01-01&to=2026-01-02", cookie=cookie)
    assert status == 200
    request_id = headers["x-request-id"]

    kiosk = connect("/ws/kiosk")
    assert kiosk.ask(f"new {EMAIL} {NAME}").startswith("success new ")
    assert kiosk.ask(f"query {EMAIL.upper()}") == f"success query {NAME}"
    assert kiosk.ask(f"{EMAIL} {NAME}").startswith("error ")  # a word nobody knows
    staff = connect("/ws/staff")
    staff.recv()
    assert staff.answer(f"pick 4 {token}") == "success pick 4"
    assert staff.answer("accept 999999").startswith("error accept ")
    kiosk.close()
    staff.close()

    http = _wait_for(fresh, lambda line: line.get("request_id") == request_id)
    assert http[0]["event"] == "http" and http[0]["route"] == "/admin/reports"
    assert http[0]["status"] == 200 and "from=" not in json.dumps(http[0])
    _wait_for(fresh, lambda line: line.get("event") == "ws_open" and line["role"] == "kiosk")
    closed = _wait_for(fresh,
                       lambda line: line.get("event") == "ws_close" and line["role"] == "staff")
    assert closed[0]["request_id"]
    refused = _wait_for(fresh, lambda line: line.get("event") == "refused")
    assert {(r["command"], r["reason"]) for r in refused} >= {
        ("accept", "ticket id does not exist"), ("unknown", "unknown command")}
    assert all(r["request_id"] for r in refused)
    _wait_for(fresh, lambda line: line.get("event") == "http" and line["status"] == 101)

    text = fresh.log()
    session = dict(part.split("=", 1) for part in cookie.split("; "))["session"]
    for secret in (EMAIL, EMAIL.upper(), NAME, "Zebediah", token, PASSWORD, session):
        assert secret.lower() not in text.lower(), secret
