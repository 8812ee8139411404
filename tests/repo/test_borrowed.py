"""What tablequeue/borrowed.py takes from simple-websocket, wsproto and gunicorn internals is
still there, unchanged: an upgrade of any of them fails here, saying what to re-read, before
it breaks a detached connection, a broadcast or the banner in production. And nothing else
in tablequeue borrows: the fence has one gate."""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.metadata
import inspect
import re
import socket
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import CloseConnection, Ping, Pong, TextMessage
from wsproto.extensions import PerMessageDeflate

from tablequeue import borrowed
from tablequeue.borrowed import BORROWED, CHECKED_AGAINST, Borrowed, SocketState
from tests.kit.live import ROOT

BORROWER = ROOT / "tablequeue" / "borrowed.py"


def _resolve(where: str) -> Any:
    module, qualname = where.split(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


# ---- the versions, signatures and sources read -------------------------------------------


@pytest.mark.parametrize("package", sorted(CHECKED_AGAINST))
def test_the_installed_version_is_the_one_borrowed_py_was_checked_against(package: str) -> None:
    installed, checked = importlib.metadata.version(package), CHECKED_AGAINST[package]
    assert installed == checked, (
        f"{package} {installed} is installed; tablequeue/borrowed.py was checked against "
        f"{checked}. Re-read every BORROWED entry of {package} (test_each_borrowed_definition "
        f"says which changed), then update CHECKED_AGAINST.")


def test_pyproject_pins_the_checked_versions() -> None:
    pins = {}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        name, _, version = requirement.partition("==")
        pins[re.sub(r"\[.*\]", "", name).strip().lower()] = version.strip()
    for package, checked in CHECKED_AGAINST.items():
        assert pins.get(package) == checked, (
            f"pyproject.toml pins {package}=={pins.get(package)}; tablequeue/borrowed.py was "
            f"checked against {checked}: re-read what it borrows from {package} first.")


@pytest.mark.parametrize("item", BORROWED, ids=lambda item: item.where)
def test_each_borrowed_definition_is_unchanged(item: Borrowed) -> None:
    assert item.package in CHECKED_AGAINST
    try:
        found = _resolve(item.where)
    except AttributeError:
        pytest.fail(f"{item.where} is gone from {item.package} "
                    f"{importlib.metadata.version(item.package)}: tablequeue/borrowed.py needs "
                    f"another way ({item.recheck}).")
    if item.signature is not None:
        signature = str(inspect.signature(found))
        assert signature == item.signature, (
            f"{item.where} now takes {signature}, not {item.signature}: re-read {item.recheck}.")
    digest = hashlib.sha256(inspect.getsource(found).encode()).hexdigest()
    assert digest == item.sha256, (
        f"{item.where} changed upstream. Re-read it for {item.recheck}; once borrowed.py is "
        f"right for it, record its new sha256 there: {digest}")


# ---- simple-websocket's state, as SocketState recreates it --------------------------------


def _self_attributes(function: Any, stored: bool) -> set[str]:
    """The names `function` assigns (stored) or reads (not stored) as `self.X`."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    context = ast.Store if stored else ast.Load
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "self" and isinstance(node.ctx, context)}


def _state() -> set[str]:
    return set(SocketState.COPIED + SocketState.RECREATED + SocketState.REPLACED
               + SocketState.KEPT + SocketState.LEFT)


def test_socket_state_accounts_for_everything_base_init_sets() -> None:
    from simple_websocket.ws import Base

    sets = _self_attributes(Base.__init__, stored=True)
    assert sets == _state(), (
        f"simple_websocket.Base.__init__ now sets {sorted(sets - _state())} and no longer "
        f"{sorted(_state() - sets)}: SocketState must copy, recreate or leave each one.")


@pytest.mark.parametrize("method", ["_handle_events", "send", "close"])
def test_base_methods_read_only_what_socket_state_holds(method: str) -> None:
    from simple_websocket.ws import Base

    # Only for a handshake's Request, which a connection taken over after it never sees.
    handshake_only = {"choose_subprotocol"}
    held = set(_state()) - set(SocketState.LEFT) | handshake_only
    reads = _self_attributes(getattr(Base, method), stored=False)
    assert reads <= held, f"Base.{method} now reads {sorted(reads - held)}"


def test_peer_runs_simple_websockets_own_methods() -> None:
    from simple_websocket.ws import Base

    from tablequeue.live.detached import Peer

    assert issubclass(Peer, SocketState)
    assert Peer.handle_events is Base._handle_events
    assert Peer.send is Base.send
    assert Peer.close is Base.close


# ---- the borrowings at work on a real simple-websocket connection ---------------------


class _Taken(SocketState):
    pass


def _read_head(sock: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "simple-websocket closed before answering the handshake"
        head += chunk
    return head


@pytest.fixture(params=[False, True], ids=["plain", "deflate"])
def taken(request: pytest.FixtureRequest) -> Iterator[tuple[_Taken, Any, socket.socket, bool]]:
    """A simple_websocket.Server handshaken over a socket pair (as Flask-Sock makes it under
    gevent, with tablequeue's thread and event classes), then taken over by a SocketState."""
    from simple_websocket import Server

    deflate: bool = request.param
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    theirs.settimeout(5)
    environ = {
        "gunicorn.socket": ours, "HTTP_HOST": "x", "HTTP_UPGRADE": "websocket",
        "HTTP_CONNECTION": "Upgrade", "HTTP_SEC_WEBSOCKET_VERSION": "13",
        "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    if deflate:
        environ["HTTP_SEC_WEBSOCKET_EXTENSIONS"] = "permessage-deflate"
    server = Server(environ, ping_interval=25, max_message_size=1024,
                    thread_class=borrowed.Unstarted, event_class=borrowed.Flag)
    head = _read_head(theirs)
    assert head.startswith(b"HTTP/1.1 101")
    assert (b"permessage-deflate" in head) is deflate
    state = _Taken(server, ours)
    yield state, server, theirs, deflate
    ours.close()
    theirs.close()


def test_taking_over_leaves_the_server_closed_and_the_state_fresh(
        taken: tuple[_Taken, Any, socket.socket, bool]) -> None:
    state, server, _, _ = taken
    assert server.connected is False  # Flask-Sock's close() after the route does nothing
    assert state.connected is True and state.ws is server.ws
    for name in SocketState.COPIED:
        assert getattr(state, name) == getattr(server, name)
    assert (state.input_buffer, state.incoming_message, state.incoming_message_len) == ([], None, 0)
    assert list(state.ws.events()) == []  # the handshake is forgotten, and yields nothing


def test_socket_extensions_are_the_negotiated_ones(
        taken: tuple[_Taken, Any, socket.socket, bool]) -> None:
    state, _, _, deflate = taken
    extensions = borrowed.socket_extensions(state)
    assert extensions is not None
    assert [type(e) for e in extensions] == ([PerMessageDeflate] if deflate else [])
    assert borrowed.socket_extensions(object()) is None


def test_handle_events_applies_simple_websockets_rules(
        taken: tuple[_Taken, Any, socket.socket, bool]) -> None:
    state, _, theirs, deflate = taken
    client = Connection(ConnectionType.CLIENT, [PerMessageDeflate()] if deflate else [])
    client_bytes = (client.send(TextMessage(data="hel", message_finished=False))
                    + client.send(TextMessage(data="lo")) + client.send(Ping(b"p")))
    state.ws.receive_data(client_bytes)
    assert state.handle_events() is True
    assert state.input_buffer == ["hello"]  # fragments joined
    client.receive_data(theirs.recv(4096))
    assert [type(e) for e in client.events()] == [Pong]  # answered on our socket

    state.ws.receive_data(client.send(TextMessage(data="x" * 2000)))
    assert state.handle_events() is False  # over max_message_size: closed with 1009
    client.receive_data(theirs.recv(4096))
    closed = [e for e in client.events() if isinstance(e, CloseConnection)]
    assert [e.code for e in closed] == [1009]


def test_close_through_writes_the_close_frame_where_it_is_told(
        taken: tuple[_Taken, Any, socket.socket, bool]) -> None:
    state, _, _, _ = taken
    written: list[bytes] = []
    borrowed.close_through(state, 1001, "bye", written.append)
    assert state.connected is False
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(b"".join(written))
    closed = [e for e in client.events() if isinstance(e, CloseConnection)]
    assert [(e.code, e.reason) for e in closed] == [(1001, "bye")]


def test_wake_reader_sets_simple_websockets_event(
        taken: tuple[_Taken, Any, socket.socket, bool]) -> None:
    state, _, _, _ = taken
    assert not state.event.is_set()
    borrowed.wake_reader(state)
    assert state.event.is_set()
    borrowed.wake_reader(object())  # not a simple-websocket connection: nothing to wake


# ---- gunicorn's banner ---------------------------------------------------------------------


def test_drop_server_banner_leaves_every_other_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from gunicorn.http import wsgi

    original = wsgi.Response.default_headers
    monkeypatch.setattr(wsgi.Response, "default_headers", original)  # undone after the test
    response = SimpleNamespace(upgrade=True, req=SimpleNamespace(version=(1, 1)),
                               status="101 Switching Protocols", version="gunicorn",
                               chunked=False)
    before = original(response)
    borrowed.drop_server_banner()
    patched = wsgi.Response.default_headers
    borrowed.drop_server_banner()  # gunicorn re-reads its config on SIGHUP: wrapped once
    assert wsgi.Response.default_headers is patched
    after = patched(response)
    assert [line for line in before if line.startswith("Server:")] == ["Server: gunicorn\r\n"]
    assert after == [line for line in before if not line.startswith("Server:")]


# ---- one gate ---------------------------------------------------------------------------


def test_importing_borrowed_imports_no_borrowed_library() -> None:
    """gunicorn.conf.py imports it in the arbiter, before any worker's monkey-patching."""
    code = ("import sys, tablequeue.borrowed; print(sorted(m for m in ('simple_websocket', "
            "'wsproto', 'gunicorn.http', 'asyncio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


# What only borrowed.py may name: the private parts of simple-websocket, wsproto and
# gunicorn that tablequeue uses, and the modules they live in.
PRIVATE = re.compile(r"_handle_events|\._proto\b|\.handshake\s*=|default_headers"
                     r"|simple_websocket\.ws\b|gunicorn\.http\b|\bBase\._")


def test_no_other_module_borrows() -> None:
    sources = [*sorted((ROOT / "tablequeue").rglob("*.py")), ROOT / "gunicorn.conf.py"]
    offenders = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                 for path in sources if path != BORROWER
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if PRIVATE.search(line)]
    assert not offenders, "borrowed outside tablequeue/borrowed.py:\n" + "\n".join(offenders)
