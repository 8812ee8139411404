"""Fixtures: `server` is a live gunicorn + gevent server with a fresh database per test
module; `fresh` empties it before a test; `staff_token`, `kiosk`, `display`, `staff`
connect real websocket clients and close them after the test."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.live import Client, LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(Path(tmp_path_factory.mktemp("server"))).start()
    yield live
    live.close()


@pytest.fixture
def fresh(server: LiveServer) -> LiveServer:
    """The module's server with every table emptied."""
    server.reset()
    return server


@pytest.fixture
def connect(server: LiveServer) -> Iterator[Callable[[str], Client]]:
    """connect("/ws/staff") opens a client that is closed after the test."""
    opened: list[Client] = []

    def open_(path: str, headers: list[str] | None = None) -> Client:
        client = server.connect(path, headers)
        opened.append(client)
        return client

    yield open_
    for client in opened:
        client.close()
