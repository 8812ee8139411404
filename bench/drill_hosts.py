"""The drill's hosts: one gunicorn arbiter with two gevent workers each, on a port of its
own, that a fault can kill, stop or restart (bench/drill.py injects the faults)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.launch import ROOT, free_port


class Host:
    """One gunicorn arbiter with two workers, restartable on the same port."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.name, self.port = name, free_port()
        self.env = {**os.environ, **env, "BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": "2"}
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + 60
        while len(self.workers()) < 2 or not _answers(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} did not start; see {self.log}")
            time.sleep(0.1)

    def workers(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children() if self.process else []
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
        self.process.wait()  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _answers(port: int) -> bool:
    """GET /healthz gets an HTTP answer: the arbiter's socket is served."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1")
    except OSError:
        return False
