"""`python -m bench.metrics_cost`: what the /metrics hooks cost on the hot path, per call,
with metrics off (no METRICS_TOKEN), on in one process, and on in multiprocess mode (as
under gunicorn). The command path makes one `command` call (plus one `observe_events`);
a broadcast makes one `delivered` call per message whatever its number of receivers."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import timeit

CALLS = 200_000


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if not mode:
        import subprocess

        for each in ("off", "single", "multiprocess"):
            subprocess.run([sys.executable, "-m", "bench.metrics_cost", each], check=True)
        return
    if mode == "multiprocess":
        directory = tempfile.mkdtemp(prefix="tq-metrics-cost-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        atexit.register(shutil.rmtree, directory, True)
    from flask import Flask

    from tablequeue.ops import metrics

    app = Flask(__name__)
    app.config["METRICS_TOKEN"] = "x" * 16 if mode != "off" else None
    metrics.init_app(app)
    for name, call in (
        ("command", lambda: metrics.command("accept", True, 0.0012)),
        ("observe_events (no claim)", lambda: metrics.observe_events([])),
        ("delivered", lambda: metrics.delivered(200)),
        ("connections", lambda: metrics.connections("display", 200)),
    ):
        seconds = min(timeit.repeat(call, number=CALLS, repeat=3))
        print(f"{mode:13s} {name:26s} {seconds / CALLS * 1e6:6.2f} µs per call")


if __name__ == "__main__":
    main()
