"""Helpers for the text-message and webhook tests: asking for texts the way the kiosk and
the phone page do (POST /v/<code>/sms with the page's CSRF token), the outbox seen from
the database, and the server's workers (to kill them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.kit.http_client import Reply, WebClient
from tests.kit.live import LiveServer


def code_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def ask_for_texts(server: LiveServer, code: str, number: str, **more: str) -> Reply:
    """The phone page of `code` asks for texts to `number` (or `stop="1"`)."""
    browser = WebClient(server.port)
    page = browser.get(f"/v/{code}").body
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found, "the phone page has no CSRF token"
    fields = {"number": number, **more}
    return browser.post(f"/v/{code}/sms", fields, {"X-CSRFToken": found.group(1)})


def rows(server: LiveServer, sql: str, **params: Any) -> list[Any]:
    engine = server.engine()
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())
    finally:
        engine.dispose()


def count(server: LiveServer, table: str, where: str = "1=1", **params: Any) -> int:
    return int(rows(server, f"SELECT count(*) FROM {table} WHERE {where}", **params)[0][0])


def workers(server: LiveServer) -> list[int]:
    """The gunicorn arbiter's children: its workers, by pid."""
    assert server.process is not None
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == server.process.pid:
            found.append(int(entry.name))
    return sorted(found)
