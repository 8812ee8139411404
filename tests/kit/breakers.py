"""The services a scale test or the fault drill breaks on purpose: a private Redis to stop
and start, a TCP proxy in front of PostgreSQL that cuts, hangs or trips at a chosen commit
(tests/kit/scale.py re-exports both)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.kit.live import free_port


class PrivateRedis:
    """A redis-server of our own on a free port, to stop and start during a test."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # a crash, not a goodbye: subscribers learn it from the socket
            self.process.wait(timeout=10)
            self.process = None


class PostgresProxy:
    """A TCP forwarder to PostgreSQL that a test breaks on purpose, three ways:

    - `cut()` drops every connection and refuses new ones (accept, then close) until
      `restore()`;
    - `hang()` is a network that drops every packet (open connections wait, new ones are
      accepted but get no answer) until `flow()` lets everything through, held bytes first;
    - with `trip_after` (say b"INSERT INTO table_assignments"), once `arm()`ed, it cuts by
      itself at one precise moment: right after PostgreSQL acknowledges the COMMIT of a
      transaction whose statements contained those bytes. The server has its commit; its
      next statement finds the database gone. `before_ack` is run instead of cutting,
      before the acknowledgement is forwarded (say, SIGKILL the worker waiting for it:
      committed, never published). `tripped` is set once either has happened."""

    def __init__(self, target_port: int = 5432, *, trip_after: bytes | None = None,
                 before_ack: Callable[[], None] | None = None) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.flowing = threading.Event()
        self.flowing.set()
        self.trip_after = trip_after
        self.before_ack = before_ack
        self.armed = False
        self.tripped = threading.Event()
        self._wrote: set[socket.socket] = set()  # upstream sockets that carried `trip_after`
        self._socks: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        self.open = False
        with self._lock:
            socks, self._socks = self._socks, set()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self) -> None:
        self.open = True

    def hang(self) -> None:
        self.flowing.clear()

    def flow(self) -> None:
        self.flowing.set()

    def arm(self) -> None:
        assert self.trip_after is not None, "arm() needs trip_after"
        self.tripped.clear()
        self.armed = True

    def close(self) -> None:
        self._closed = True
        self.flowing.set()
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                conn.close()
                continue
            threading.Thread(target=self._join, args=(conn,), daemon=True).start()

    def _join(self, conn: socket.socket) -> None:
        self.flowing.wait()
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            conn.close()
            return
        with self._lock:
            if not self.open:  # cut while this connection was joining
                conn.close()
                upstream.close()
                return
            self._socks |= {conn, upstream}
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self.flowing.wait()
                if self.armed and self.trip_after is not None and self.trip_after in data:
                    self._wrote.add(dst)  # client -> PostgreSQL
                acknowledged = self.armed and src in self._wrote and b"COMMIT\x00" in data
                if acknowledged and self.before_ack is not None:
                    self.armed = False
                    self.before_ack()
                    self.tripped.set()
                    return
                dst.sendall(data)
                if acknowledged:
                    self.armed = False
                    self.cut()
                    self.tripped.set()
                    return
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
