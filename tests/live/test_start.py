"""Start-up: the app factory starts no background loop (so a `flask` command runs none),
and tablequeue.live.start, which wsgi.py calls in each worker, starts every loop a
serving worker needs, at once rather than on first use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.kit.live import ROOT

RELAY = os.environ.get("TEST_REDIS_URL")  # the second run of `make test` has Redis

# Run in a fresh interpreter: the loops are daemon threads (greenlets under gevent) that
# would outlive the test in this process. "worker" does what a gunicorn worker does:
# gevent's patching first, then wsgi.py's two lines.
PROBE = """
import json, sys, threading
worker = sys.argv[1] == "worker"
if worker:
    from gevent import monkey
    monkey.patch_all()
from app import create_app
from tablequeue.live import detached
before = {t.name for t in threading.enumerate()}
app = create_app(serving=worker)
if worker:
    import gevent
    from tablequeue.live.start import start
    start(app)
    gevent.sleep(0.1)
print(json.dumps({"loops": sorted({t.name for t in threading.enumerate()} - before),
                  "pinging": detached._pinger._greenlet is not None}))
"""


def _probe(mode: str, tmp_path: Path) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("REDIS_URL", "DATABASE_URL", "LOG_FORMAT")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}", SECRET_KEY="probe",
               SMTP_URL="smtp://127.0.0.1:9", MAIL_FROM="desk@example.org",
               SMS_URL="twilio://AC1:token@?from=%2B12025550100&api_base=http://127.0.0.1:9",
               PUBLIC_URL="https://queue.example.org")
    if RELAY:
        env.update(REDIS_URL=RELAY, REDIS_CHANNEL="tq-startup-" + tmp_path.name[-12:])
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_factory_starts_no_loop(tmp_path: Path) -> None:
    assert _probe("factory", tmp_path) == {"loops": [], "pinging": False}


def test_a_worker_starts_every_loop_at_once(tmp_path: Path) -> None:
    started = _probe("worker", tmp_path)
    # checkpoint: the probe's database is SQLite (ops.checkpoint)
    loops = ["checkpoint", "event-watch", "floor-watch", "mail-sender", "session-watch",
             "text-sender", "visitor-hub", "webhook-sender"]
    assert started["loops"] == sorted(loops + (["tablequeue-relay"] if RELAY else []))
    assert started["pinging"]  # the ping sweep is a plain greenlet, not a thread
