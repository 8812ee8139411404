"""SQLite's WAL checkpoints run in a threadpool thread of each serving worker, not inside a
COMMIT (tablequeue.ops.checkpoint). SQLite's own record says who copied what: the
wal-index (the `-shm` file) holds how many frames the log has (mxFrame) and how many were
copied back (nBackfill); below 1000 pages no COMMIT ever copies any."""

from __future__ import annotations

import sqlite3
import struct
import time
from pathlib import Path

import pytest

from tablequeue.ops import checkpoint
from tests.kit.live import LiveServer


def wal_index(database: Path) -> tuple[int, int]:
    """(frames in the log, frames copied back), read from the -shm file without taking any
    lock or checkpointing (which would copy them itself)."""
    shm = Path(f"{database}-shm").read_bytes()
    (frames,) = struct.unpack_from("=I", shm, 16)  # WalIndexHdr.mxFrame
    (copied,) = struct.unpack_from("=I", shm, 96)  # WalCkptInfo.nBackfill
    return frames, copied


def test_once_copies_the_log_back(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (x TEXT)")
    for i in range(50):
        writer.execute("INSERT INTO t VALUES (?)", (str(i) * 100,))
    frames, copied = wal_index(path)
    assert frames > 0 and copied == 0
    other = sqlite3.connect(path, isolation_level=None)
    assert checkpoint.once(other) == (0, frames, frames)
    assert wal_index(path) == (frames, frames)
    other.close()
    writer.close()


def test_a_sqlite_worker_checkpoints_in_the_background(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite whatever the suite's database: this is SQLite's checkpoint."""
    monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    monkeypatch.delenv("TEST_REDIS_URL", raising=False)
    server = LiveServer(tmp_path).start()
    try:
        kiosk = server.connect("/ws/kiosk")
        for i in range(20):
            assert kiosk.ask(f"new v{i}@example.org Visitor {i}").startswith("success new")
        kiosk.close()
        database = Path(server.database_url.removeprefix("sqlite:///"))
        deadline = time.monotonic() + 5
        while (found := wal_index(database))[1] != found[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        frames, copied = found
        assert frames > 0 and copied == frames, found  # 20 tickets: far below 1000 pages
    finally:
        server.stop()
