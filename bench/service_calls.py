"""`python -m bench.service_calls`: the ticket path's database work, without websockets.

Runs new → accept → lose → complete through the service functions, in this process, on a
scratch database (a temporary SQLite file, or a fresh database on the PostgreSQL server
of `--database`), and prints µs per call and SQL statements per call. CPU-bound and
repeatable: the figure to compare when changing tablequeue/service/. `lose` is another
staff member's `accept` of the ticket just claimed: the race's loser on a worker that
already knows (tablequeue.service.claimbook), answered `claimed` from one read."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app import create_app
from tablequeue import service
from tablequeue.extensions import db
from tablequeue.outcomes import Outcome, Refusal, SiteId
from tablequeue.service.directory import directory_of
from tablequeue.service.identity import add_staff, hash_token, issue_token

CALLS = ("new", "accept", "lose", "complete")


class Statements:
    """Counts what reaches the database (BEGIN IMMEDIATE included, COMMIT not). SQLite: as
    SQLite itself traces them, which includes what the event log's seal runs on the DBAPI
    cursor, past SQLAlchemy. PostgreSQL: as SQLAlchemy hands them to the driver; the
    seal is sent with COMMIT (tablequeue.service.pgseal) and, like COMMIT, not counted."""

    def __init__(self) -> None:
        self.count = 0
        self.seen: Counter[str] = Counter()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self.traced(statement)

    def traced(self, statement: str) -> None:
        if statement.startswith(("COMMIT", "PRAGMA")):
            return
        self.count += 1
        self.seen[" ".join(statement.split()[:3])] += 1

    def listen(self, engine: sa.Engine) -> None:
        if engine.dialect.name != "sqlite":
            sa.event.listen(engine, "before_cursor_execute", self)
            return
        engine.dispose()  # connections made from here on are traced
        sa.event.listen(engine, "connect", self._trace)

    def stop(self, engine: sa.Engine) -> None:
        """Counting costs time (SQLite's trace: ~15 µs a statement), so calls are timed
        after it stops."""
        if engine.dialect.name != "sqlite":
            sa.event.remove(engine, "before_cursor_execute", self)
            return
        sa.event.remove(engine, "connect", self._trace)
        engine.dispose()

    def _trace(self, dbapi: Any, _record: Any) -> None:
        dbapi.set_trace_callback(self.traced)


@contextmanager
def scratch_database(url: str | None) -> Iterator[str]:
    """A temporary SQLite file, or a new database on `url`'s server, dropped afterwards."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="tq-calls-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'calls.sqlite3'}"
        return
    name = "tq_calls_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _site() -> SiteId:
    """The default site: every call here is about it."""
    return directory_of(current_app).default().id


def seat_staff(count: int) -> list[str]:
    """Accounts c0..cN-1, each holding table i; their token hashes."""
    hashes = []
    for i in range(count):
        add_staff(f"c{i}", "bench-password")
        token_hash = hash_token(issue_token(f"c{i}"))
        assert service.pick(token_hash, i, site=_site()).ok
        hashes.append(token_hash)
    return hashes


def one_ticket(seq: int, token_hash: str, loser: str, timings: dict[str, list[int]],
               counter: Statements, counts: dict[str, list[int]]) -> None:
    """new → accept → complete, each call timed and its statements counted."""
    email, name = f"v{seq}@calls.example", f"Visitor {seq}"
    site = _site()
    created = _timed("new", lambda: service.new(email, name, site=site), timings, counter, counts)
    ticket_id = created.value.id  # type: ignore[attr-defined]
    _timed("accept", lambda: service.accept(token_hash, ticket_id, site=site), timings, counter,
           counts)
    _timed("lose", lambda: service.accept(loser, ticket_id, site=site), timings, counter, counts,
           Refusal.CLAIMED)
    _timed("complete", lambda: service.complete(token_hash, ticket_id, site=site), timings,
           counter, counts)


def _timed(word: str, call: Callable[[], Outcome], timings: dict[str, list[int]],
           counter: Statements, counts: dict[str, list[int]],
           refusal: Refusal | None = None) -> Outcome:
    before = counter.count
    start = time.perf_counter_ns()
    outcome = call()
    timings[word].append(time.perf_counter_ns() - start)
    counts[word].append(counter.count - before)
    assert outcome.refusal == refusal, (word, outcome.refusal)
    return outcome


def run(url: str, iterations: int, warmup: int, staff: int) -> str:
    # Through the environment, so the engine gets the app's own pool options.
    os.environ.update(DATABASE_URL=url, TABLE_COUNT=str(max(staff, 10)), LOG_LEVEL="WARNING",
                      SECRET_KEY="bench-" + uuid.uuid4().hex)
    app = create_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        hashes = seat_staff(staff)
        counter, counts = Statements(), _empty()
        counter.listen(db.engine)
        for seq in range(warmup):  # counted, not timed
            one_ticket(seq, hashes[seq % staff], hashes[(seq + 1) % staff], _empty(), counter,
                       counts)
        counter.stop(db.engine)
        for seq in range(warmup, warmup + 50):  # caches and the pool fill up again
            one_ticket(seq, hashes[seq % staff], hashes[(seq + 1) % staff], _empty(), counter,
                       _empty())
        timings = _empty()
        cpu = time.process_time()
        for seq in range(warmup + 50, warmup + 50 + iterations):
            one_ticket(seq, hashes[seq % staff], hashes[(seq + 1) % staff], timings, counter,
                       _empty())
        cpu_us = (time.process_time() - cpu) * 1e6 / iterations
        db.engine.dispose()
    return report(url, iterations, warmup, timings, counts, counter, cpu_us)


def _empty() -> dict[str, list[int]]:
    return {word: [] for word in CALLS}


def report(url: str, iterations: int, warmup: int, timings: dict[str, list[int]],
           counts: dict[str, list[int]], counter: Statements, cpu_us: float) -> str:
    backend = url.split(":", 1)[0]
    lines = [f"{backend}: {iterations} tickets (new → accept → lose → complete), per call:"]
    for word in CALLS:
        us = [t / 1000 for t in timings[word]]
        lines.append(
            f"  {word:<9} median {statistics.median(us):7.1f} µs"
            f"  mean {statistics.fmean(us):7.1f} µs"
            f"  p90 {statistics.quantiles(us, n=10)[-1]:7.1f} µs"
            f"  statements {statistics.fmean(counts[word]):.2f}"
        )
    total = sum(statistics.median(t) for t in timings.values()) / 1000
    lines.append(f"  ticket    median sum {total:7.1f} µs"
                 f"  (process CPU per ticket {cpu_us:.1f} µs)")
    lines.append(f"statements seen (first words, per ticket, over the {warmup} warm-up tickets):")
    for words, n in counter.seen.most_common():
        lines.append(f"  {n / warmup:5.2f}  {words}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.service_calls", description=__doc__)
    p.add_argument("--database", default=None,
                   help="a PostgreSQL server URL (a scratch database is created on it); "
                        "default: a temporary SQLite file")
    p.add_argument("--iterations", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--staff", type=int, default=20)
    args = p.parse_args(argv)
    with scratch_database(args.database) as url:
        print(run(url, args.iterations, args.warmup, args.staff), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
