"""`python -m bench.lobby`: what the defences of issue 17 cost, and what they buy.

1. The fairness mechanism, in this process under gevent: the cost of one `next_turn()`
   (once per `detached.BATCH` messages), of one `Outlet.writable()` check (once per
   read) and of the message-rate count (once per message), so the added cost per frame.
2. A live server (one gevent worker, SQLite): a client sending 1-byte frames and reading
   its replies (frames handled per second: the per-frame cost of the whole path the
   mechanism sits in), and another kiosk's `query` latency while a client floods and
   reads nothing.
3. Binding a console to 10,000 waiting tickets: on loopback with a fast reader, and over
   an emulated ordinary link (MSS 1448, 4 KiB receive buffer, a reader that pauses).

Prints figures; docs/performance.md ("Fairness and long replays") keeps them."""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ONE_BYTE_FRAME = bytes((0x81, 0x81, 0, 0, 0, 0)) + b"x"


def micro(calls: int) -> dict[str, float]:
    """µs per next_turn(), ns per writable() on an idle outlet, µs per frame added."""
    import gevent

    from tablequeue.live import detached
    from tablequeue.live.delivery import Outlet

    def turns() -> float:
        started = time.perf_counter()
        for _ in range(calls):
            detached.next_turn()
        return (time.perf_counter() - started) / calls

    turn = gevent.spawn(turns).get()

    class Idle:
        sock = None
        connected = True

    outlet = Outlet(Idle())
    started = time.perf_counter()
    for _ in range(calls * 10):
        outlet.writable()
    check = (time.perf_counter() - started) / (calls * 10)
    from types import SimpleNamespace

    peer = SimpleNamespace(_rate=(10**9, 60), _window_ends=0.0, _window_left=0)
    started = time.perf_counter()
    for _ in range(calls * 10):
        detached.Peer._within_rate(peer)  # type: ignore[arg-type]
    rate = (time.perf_counter() - started) / (calls * 10)
    return {
        "next_turn_us": turn * 1e6,
        "writable_ns": check * 1e9,
        "message_rate_ns": rate * 1e9,
        "added_per_frame_us": (turn / detached.BATCH + check + rate) * 1e6,
    }


def _throughput(url: str, frames: int) -> float:
    """Frames per second a server handles for one client that also reads every reply."""
    import websocket

    ws = websocket.create_connection(url, timeout=30)
    got = 0

    def read() -> None:
        nonlocal got
        while got < frames:
            ws.recv()
            got += 1

    reader = threading.Thread(target=read, daemon=True)
    chunk, sent = ONE_BYTE_FRAME * 2000, 0
    started = time.monotonic()
    reader.start()
    while sent < frames:
        while sent - got > 20_000:  # a bounded window: the figure is the server's pace
            time.sleep(0.001)
        ws.sock.sendall(chunk)
        sent += 2000
    reader.join(timeout=120)
    elapsed = time.monotonic() - started
    ws.close()
    return frames / elapsed


def _flood(url: str, stop: Any) -> None:
    """In its own process: the flood must not share this process's GIL with the client
    whose latency is measured."""
    import websocket

    ws = websocket.create_connection(url, timeout=10,
                                     sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 16384),))
    ws.sock.settimeout(0.5)
    chunk = ONE_BYTE_FRAME * 10_000
    while not stop.is_set():
        try:
            ws.sock.send(chunk)
        except TimeoutError:
            pass
        except OSError:
            return
    ws.sock.close()


def _query_latencies(url: str, queries: int) -> list[float]:
    import websocket

    kiosk = websocket.create_connection(url, timeout=10)
    took = []
    try:
        for _ in range(queries):
            started = time.monotonic()
            kiosk.send("query nobody@example.org")
            kiosk.recv()
            took.append(time.monotonic() - started)
            time.sleep(0.02)
    finally:
        kiosk.close()
    return sorted(took)


def live(port: int, frames: int, queries: int) -> dict[str, float]:
    url = f"ws://127.0.0.1:{port}/ws/kiosk"
    rate = _throughput(url, frames)
    quiet = _query_latencies(url, queries)
    stop = multiprocessing.Event()
    flooder = multiprocessing.Process(target=_flood, args=(url, stop), daemon=True)
    flooder.start()
    time.sleep(1)
    try:
        flooded = _query_latencies(url, queries)
    finally:
        stop.set()
        flooder.join(timeout=10)
    return {
        "frames_per_s": rate,
        "us_per_frame": 1e6 / rate,
        "query_quiet_p50_ms": statistics.median(quiet) * 1e3,
        "query_quiet_max_ms": quiet[-1] * 1e3,
        "query_flood_p50_ms": statistics.median(flooded) * 1e3,
        "query_flood_max_ms": flooded[-1] * 1e3,
    }


def bind(port: int, token: str, waiting: int, slow: bool) -> float:
    """Seconds from `pick` to the last `new` of the replay."""
    import websocket

    options = ((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),
               (socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1448)) if slow else ()
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/ws/staff", timeout=60,
                                     sockopt=options)
    try:
        ws.recv()
        started = time.monotonic()
        ws.send(f"pick 1 {token}")
        new = 0
        while new < waiting:
            message = ws.recv()
            new += message.startswith("new ")
            if slow and new % 250 == 0:
                time.sleep(0.05)
        return time.monotonic() - started
    finally:
        ws.close()


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.lobby", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=20_000)
    p.add_argument("--frames", type=int, default=200_000)
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--waiting", type=int, default=10_000)
    args = p.parse_args()

    for name, value in micro(args.calls).items():
        print(f"micro  {name:22} {value:10.3f}")

    from tests.kit.database import seed_waiting
    from tests.kit.live import LiveServer

    with tempfile.TemporaryDirectory() as workdir:
        server = LiveServer(Path(workdir), {"RATE_LIMITS": "off", "LOG_LEVEL": "warning"}).start()
        try:
            for name, value in live(server.port, args.frames, args.queries).items():
                print(f"live   {name:22} {value:10.3f}")
            seed_waiting(server, args.waiting)
            token = server.add_staff("bench")
            fast = bind(server.port, token, args.waiting, slow=False)
            server.reset()
            seed_waiting(server, args.waiting)
            token = server.add_staff("bench2")
            slow = bind(server.port, token, args.waiting, slow=True)
            print(f"bind   {args.waiting} waiting, loopback, fast reader  {fast:8.2f} s")
            print(f"bind   {args.waiting} waiting, MSS 1448, slow reader  {slow:8.2f} s")
        finally:
            server.close()


if __name__ == "__main__":
    main()
