"""`python -m bench.reports`: /admin/reports with a year of tickets, on SQLite and PostgreSQL.

Seeds TICKETS tickets (default 1,000,000) spread over the 365 days ending today (site zone
America/Chicago, so the year has both DST changes) into a scratch database per engine,
bulk-loaded (executemany on SQLite, COPY on PostgreSQL), then times the whole request for
the page, in process through the Flask test client (query, Python, template), for the last
30 days and the whole year: cold (no kept days: every finished day is counted, then kept;
the kept days are forgotten before each cold run) and warm (the finished days kept, today
counted live: what a manager sees once a day has closed), the CSV download for both (read
chunk by chunk), and the peak Python memory while streaming each CSV (tracemalloc, a
separate untimed pass): flat, not growing with the period. Prints a markdown table; the
figures go to docs/performance.md. Heavy (minutes, ~1 GB of disk): run it on a quiet
machine; --no-csv and --no-sqlite or --postgres '' keep a run short."""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app import create_app
from bench.service_calls import scratch_database
from tablequeue.db import unit_of_work
from tablequeue.service import identity
from tablequeue.service.reports import rollups
from tablequeue.service.reports.period import today
from tests.kit.report_year import load

ZONE = ZoneInfo("America/Chicago")


def measure(url: str, count: int, repeat: int, csv: bool = True) -> dict[str, object]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TIMEZONE": ZONE,
                      "SQLALCHEMY_ENGINE_OPTIONS": {}, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.extensions["migrate"].directory)
        started = time.perf_counter()
        load(sa.create_engine(url), count, today(ZONE), ZONE)
        seeded = time.perf_counter() - started
        identity.add_staff("bench_admin", "bench-password", admin=True)
        token = identity.issue_token("bench_admin")
    client = app.test_client()
    with client.session_transaction() as session:
        session["token"] = token
    last = today(ZONE)
    year = f"from={last - timedelta(days=364)}&to={last}"
    paths = {
        "page, 30 days": "/admin/reports?period=30d",
        "page, 365 days": f"/admin/reports?period=range&{year}",
        "CSV, 30 days": f"/admin/reports.csv?from={last - timedelta(days=29)}&to={last}",
        "CSV, 365 days": f"/admin/reports.csv?{year}",
    }
    if not csv:
        paths = {label: path for label, path in paths.items() if not label.startswith("CSV")}
    result: dict[str, object] = {"seed_s": round(seeded, 1)}
    for label, path in paths.items():
        if label.startswith("page"):  # the first view, before any day is kept
            with app.app_context(), unit_of_work() as session:
                rollups.forget_all(session)
            began = time.perf_counter()
            _consume(client, path)
            result[f"{label} cold"] = round((time.perf_counter() - began) * 1000)
    for label, path in paths.items():
        runs = []
        for _ in range(1 if label.startswith("CSV, 365") else repeat):
            began = time.perf_counter()
            size = _consume(client, path)
            runs.append((time.perf_counter() - began) * 1000)
        result[label] = (round(statistics.median(runs)), round(min(runs)), size)
    # Memory while streaming, not timed.
    for label in ("CSV, 30 days", "CSV, 365 days") if csv else ():
        tracemalloc.start()
        _consume(client, paths[label])
        result[f"{label} peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result


def _consume(client: Any, path: str) -> int:
    """GET `path` and read the body chunk by chunk, as a download would; its size."""
    response = client.get(path, buffered=False)
    assert response.status_code == 200, response.get_data()[:300]
    size = 0
    for chunk in response.response:
        size += len(chunk)
    response.close()
    return size


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    p.add_argument("--tickets", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                   help="server for the PostgreSQL run ('' skips it)")
    p.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    p.add_argument("--no-csv", action="store_true", help="time the page only (shorter runs)")
    args = p.parse_args()
    engines = ([] if args.no_sqlite else [("SQLite", None)]) + (
        [("PostgreSQL", args.postgres)] if args.postgres else [])
    print("| database | tickets | seeded in | page, 30 days: cold / warm | page, 365 days: cold"
          " / warm | CSV, 30 days | CSV, 365 days | CSV peak Python memory, 30 / 365 days |")
    print("|---|---|---|---|---|---|---|---|")
    for name, server in engines:
        with scratch_database(server) as url:
            r = measure(url, args.tickets, args.repeat, not args.no_csv)
        print(f"| {name} | {args.tickets:,} | {r['seed_s']} s | " + " | ".join(_cells(r)) + " |",
              flush=True)


def _cells(r: dict[str, Any]) -> list[str]:
    cells = [f"{r[k + ' cold']:,} / **{r[k][0]:,} ms** (best {r[k][1]:,})"
             for k in ("page, 30 days", "page, 365 days")]
    cells.append(f"{r['CSV, 30 days'][0]:,} ms (best {r['CSV, 30 days'][1]:,})"
                 if "CSV, 30 days" in r else "–")
    if "CSV, 365 days" not in r:
        return [*cells, "–", "–"]
    csv_year = r["CSV, 365 days"]
    cells.append(f"{csv_year[0] / 1000:.1f} s, {csv_year[2] / 1e6:.0f} MB")
    cells.append(f"{r['CSV, 30 days peak'] / 1e6:.1f} / {r['CSV, 365 days peak'] / 1e6:.1f} MB")
    return cells

if __name__ == "__main__":
    main()
