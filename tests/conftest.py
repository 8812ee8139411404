"""Fixtures for every folder: `server` is a live gunicorn + gevent server with a fresh
database per test module (started with the module's SERVER_ENV, if it sets one); `fresh`
empties it before a test; `connect` opens real websocket clients, `kiosk` is one on
/ws/kiosk and `desk` seats a staff member at a table; every client is closed after the
test; `smtp` and `mailbox` are a real SMTP server for a module whose server mails;
`provider` and `idp` a real OpenID Connect provider for a module whose staff sign in
through one. Suites
with needs of their own add a conftest.py in their folder (browser/: Chromium; scale/:
PostgreSQL and Redis). What tests call is in tests/kit/."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.kit.client import Client, Desk
from tests.kit.live import LiveServer
from tests.kit.mail_server import MailServer
from tests.kit.oidc import Provider


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A module may set `SERVER_ENV = {...}` to start its server with extra environment."""
    env = getattr(request.module, "SERVER_ENV", None)
    live = LiveServer(Path(tmp_path_factory.mktemp("server")), env).start()
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


@pytest.fixture
def kiosk(fresh: LiveServer, connect: Callable[[str], Client]) -> Client:
    """A kiosk connected to the emptied server."""
    return connect("/ws/kiosk")


@pytest.fixture
def desk(server: LiveServer, connect: Callable[[str], Client]) -> Callable[..., Desk]:
    """desk("ada", 3): a new account on a fresh connection that has picked table 3 and
    whose broadcasts have all gone out (None: connected and unbound). The bind replay is
    kept in `desk.replay`; `taken` updates seen before the pick are dropped."""

    def seat(name: str, table: int | None = None) -> Desk:
        token = server.add_staff(name)
        client = connect("/ws/staff")
        assert client.recv().startswith("taken"), "an unbound connection is greeted with taken"
        replay: list[str] = []
        if table is not None:
            client.send(f"pick {table} {token}")
            reply, before = client.reply()
            assert reply == f"success pick {table}", reply
            assert all(m.startswith("taken") for m in before), before
            replay = client.sync()
        return Desk(name, token, client, table, replay)

    return seat


# Property tests: no per-example deadline (a loaded CI machine is slow, not wrong), and in
# CI a fixed derandomized search so a green commit stays green; locally they explore freely.
hypothesis_settings.register_profile("local", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "local")


@pytest.fixture
def opened() -> Iterator[list[Client]]:
    """A list to append clients to; each is closed after the test."""
    clients: list[Client] = []
    yield clients
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def smtp(request: pytest.FixtureRequest) -> Iterator[MailServer]:
    """A real SMTP server on the module's SMTP_PORT (its SERVER_ENV is mail_env(SMTP_PORT))."""
    server = MailServer(request.module.SMTP_PORT).start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp: MailServer, fresh: LiveServer) -> Iterator[MailServer]:
    """The SMTP server up and empty (a test may stop it; it is started again after)."""
    if smtp._controller is None:
        smtp.start()
    with smtp.lock:
        smtp.messages.clear()
    yield smtp
    if smtp._controller is None:
        smtp.start()


@pytest.fixture(scope="module")
def provider(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """The test OpenID Connect provider on the module's OIDC_PORT (its SERVER_ENV holds
    provider_env(OIDC_PORT))."""
    started = Provider(request.module.OIDC_PORT, Path(tmp_path_factory.mktemp("provider")))
    yield started.start()
    started.stop()


@pytest.fixture
def idp(provider: Provider, fresh: LiveServer) -> Iterator[Provider]:
    """The provider up, reset (no users, no switches, an empty log), and the server emptied;
    a test may stop the provider: it is started again after."""
    if provider.process is None:
        provider.start()
    provider.reset()
    yield provider
    if provider.process is None:
        provider.start()
