"""`python -m tests.kit.both`: `make test`'s two runs of the suite.

Run 1: SQLite, one worker, in-process broadcast, every test. Run 2: PostgreSQL + a Redis
relay, several workers per server, plus tests/scale/, without tests/browser/: a browser test
checks what a page shows and does, which the database and relay under it do not change, and
run 2's live tests already cover the same screens' frames on PostgreSQL + Redis.

The two run side by side by default: they share nothing (each server has its own port,
SQLite file and control socket; only run 2 uses PostgreSQL and Redis) and most of their time
is spent waiting on servers. CI measured it on this 2-core machine kind: side by side 45 min
(stop 30), one after the other 82 min (stop 31). `TEST_SIDE_BY_SIDE=0` runs them one after
the other, with run 2 only if run 1 passed. Side by side, run 2's output is kept in
test-artifacts/run2.log and printed when it ends, so the two never interleave.

Exit status: 0 only if every run that ran passed. Without reachable services run 2 is
skipped and said so, or, with REQUIRE_SERVICES set (CI), that is a failure."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.kit.services import unreachable

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("TEST_DATABASE_URL", "TEST_REDIS_URL")


def _pytest() -> list[str]:
    return [sys.executable, "-m", "pytest", *shlex.split(os.environ.get("PYTEST_ARGS", ""))]


def _run2() -> list[str]:
    return [*_pytest(), "--ignore=tests/browser"]


def _run1_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SERVICES}


def _services_ok() -> bool:
    found = unreachable(os.environ["TEST_DATABASE_URL"], os.environ["TEST_REDIS_URL"])
    for problem in found:
        print("unreachable:", problem.splitlines()[0], file=sys.stderr)
    if not found:
        return True
    if os.environ.get("REQUIRE_SERVICES"):
        print("FAILED: run 2 (PostgreSQL + Redis) is required here but they are unreachable")
        sys.exit(1)
    print("SKIPPED: run 2 of 2 (PostgreSQL + Redis, tests/scale/): services unreachable")
    return False


def _run2_title() -> str:
    workers = os.environ.get("TEST_WEB_CONCURRENCY", "3")
    return f"== run 2 of 2: PostgreSQL + Redis relay, {workers} workers per server"


def main() -> int:
    run1_title = "== run 1 of 2: SQLite, one worker, in-process broadcast"
    if not _services_ok():
        print(run1_title, flush=True)
        return subprocess.call(_pytest(), cwd=ROOT, env=_run1_env())
    if os.environ.get("TEST_SIDE_BY_SIDE", "1") != "1":
        print(run1_title, flush=True)
        first = subprocess.call(_pytest(), cwd=ROOT, env=_run1_env())
        print(_run2_title(), flush=True)
        return first or subprocess.call(_run2(), cwd=ROOT)
    log = ROOT / "test-artifacts" / "run2.log"
    log.parent.mkdir(exist_ok=True)
    print(f"{_run2_title()}: started beside run 1, its output follows run 1's", flush=True)
    with log.open("w") as out:
        run2 = subprocess.Popen(_run2(), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        print(run1_title, flush=True)
        first = subprocess.call(_pytest(), cwd=ROOT, env=_run1_env())
        second = run2.wait()
    print(_run2_title(), flush=True)
    sys.stdout.write(log.read_text())
    print(f"== run 1: {'passed' if first == 0 else 'FAILED'}; "
          f"run 2: {'passed' if second == 0 else 'FAILED'}", flush=True)
    return first or second


if __name__ == "__main__":
    sys.exit(main())
