"""`python -m bench`: the fan-out load tool. One run against the app by default; see --help."""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench.launch import ROOT, drop_seed, raise_fd_limit, seed
from bench.run import Load, measure, workers_env


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--floor", action="store_true", help="one run against the floor relay")
    mode.add_argument("--compare", action="store_true",
                      help="app and floor back to back (--repeat times), capacity of both "
                           "(unless --no-capacity), ratios")
    p.add_argument("--capacity", action="store_true",
                   help="rising rate steps, then bisection: the highest rate that passes "
                        "(every step's p99 <= 100 ms, nothing lost or unanswered, no errors, "
                        ">= 95%% of the offered deliveries); alone or with --compare")
    mode.add_argument("--sweep", action="store_true", help="D = --sweep-displays, plot to --plot")
    mode.add_argument("--idle", action="store_true", help="worker RSS with --idle-counts sockets")
    mode.add_argument("--spread", type=_ints, metavar="1,2,3", default=None,
                      help="the same load on each number of app workers (Redis above 1): "
                           "CPU of every server process per ticket, ratio to the first")
    mode.add_argument("--profile", action="store_true", help="py-spy the worker during a run")
    mode.add_argument("--report", action="store_true",
                      help="everything, written into docs/performance.md and its plot")
    p.add_argument("--quick", action="store_true", help="--report, every experiment tiny")
    p.add_argument("--staff", type=int, default=20)
    p.add_argument("--displays", type=int, default=200)
    p.add_argument("--kiosks", type=int, default=5)
    p.add_argument("--rate", type=float, default=20.0, help="tickets per second, all kiosks")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of load per run")
    p.add_argument("--warmup", type=float, default=1.0,
                   help="seconds of load before the measured part (latencies only)")
    p.add_argument("--clients", type=int, default=1, help="client processes")
    p.add_argument("--deflate", action="store_true",
                   help="clients offer permessage-deflate, as browsers do")
    p.add_argument("--ws-deflate", action="store_true",
                   help="start the app with WS_DEFLATE=on (it accepts a deflate offer)")
    p.add_argument("--stalled", type=int, default=0,
                   help="extra displays that stop reading after the handshake")
    p.add_argument("--workers", type=int, default=1,
                   help="app workers; more than one relays through Redis on 127.0.0.1:6379")
    p.add_argument("--race", nargs="?", const="person", default=None,
                   choices=("person", "storm"),
                   help="every staff member races for every ticket: `person` (bare --race) "
                        "keeps one accept in flight, oldest ticket shown and not yet taken; "
                        "`storm` accepts every ticket at once (default: only the assigned "
                        "staff member accepts)")
    p.add_argument("--watch", action="store_true",
                   help="displays send `watch` (the opt-in `waiting N`, as /display does)")
    p.add_argument("--since", action="store_true",
                   help="displays and staff open with `?since=`, as our pages do: each run "
                        "they hear is followed by `mark N` (issue 27)")
    p.add_argument("--no-lean", dest="lean", action="store_false",
                   help="use the websockets client for every connection")
    p.add_argument("--repeat", type=int, default=3, help="runs per target (--compare, --sweep)")
    p.add_argument("--no-capacity", dest="with_capacity", action="store_false",
                   help="--compare without the capacity search")
    p.add_argument("--target-floor", action="store_true",
                   help="--capacity/--idle/--profile against the floor instead of the app")
    p.add_argument("--sweep-displays", type=_ints, default=(50, 200, 500, 1000))
    p.add_argument("--plot", type=Path, default=ROOT / "docs" / "fanout-sweep.png")
    p.add_argument("--idle-counts", type=_ints, default=(1000, 5000))
    p.add_argument("--postgres", metavar="URL", default=None,
                   help="run the app on PostgreSQL (a fresh database per run on this server, "
                        "e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test), not SQLite")
    p.add_argument("--out", type=Path, default=Path("profile.txt"),
                   help="--profile: where py-spy's collapsed stacks go")
    return p.parse_args(argv)


def main(argv: list[str]) -> None:
    args = parse(argv)
    # A SIGTERM (e.g. from `timeout`) unwinds normally, so every server we started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    raise_fd_limit()
    load = Load(staff=args.staff, displays=args.displays, kiosks=args.kiosks, rate=args.rate,
                duration=args.duration, warmup=args.warmup, clients=args.clients,
                deflate=args.deflate, stalled=args.stalled, lean=args.lean,
                clicker=args.race or "kind", watch=args.watch, since=args.since)
    with tempfile.TemporaryDirectory(prefix="tq-bench-") as tmp:
        print(f"seeding {args.staff} staff accounts ...", flush=True)
        seeded = seed(Path(tmp), max(args.staff, 1), args.postgres)
        try:
            dispatch(args, load, seeded)
        finally:
            drop_seed(seeded)


def dispatch(args: argparse.Namespace, load: Load, seeded: object) -> None:
    from bench import modes

    def say(text: str) -> None:
        print(text, flush=True)

    env = {"WS_DEFLATE": "on"} if args.ws_deflate else {}
    if args.workers > 1:
        env.update(workers_env(args.workers))
    if args.report:
        from bench.report import report

        report(seeded, load, say, args.quick)  # type: ignore[arg-type]
    elif args.compare:
        modes.compare(seeded, load, say, args.repeat,  # type: ignore[arg-type]
                      args.with_capacity or args.capacity, env)
    elif args.spread:
        from bench.spread import spread

        spread(seeded, load, say, args.spread, args.capacity)  # type: ignore[arg-type]
    elif args.capacity:
        cap = modes.capacity(args.target_floor, seeded, load, say,  # type: ignore[arg-type]
                             env=None if args.target_floor else env)
        say(f"capacity {cap.target}: {cap.text()} tickets/s")
    elif args.sweep:
        results = modes.sweep(seeded, load, say, args.sweep_displays, args.repeat)  # type: ignore[arg-type]
        modes.plot(results, args.sweep_displays, args.plot)
        say(f"plot: {args.plot}")
    elif args.idle:
        from bench.idle import idle

        for count in args.idle_counts:
            say(idle(args.target_floor, seeded, count).line())  # type: ignore[arg-type]
    elif args.profile:
        from bench.profile import profile, render

        say(render(profile(args.target_floor, seeded, load, args.out,  # type: ignore[arg-type]
                           env)))
    else:
        result = measure(args.floor, seeded, load, env=env)  # type: ignore[arg-type]
        say(result.line())
        if args.race:
            say(f"accepts per ticket: {result.accepts_per_ticket:.2f} "
                f"({result.lost_races} refused)")
        say(f"kiosk schedule lag {result.kiosk_lag_ms:.1f} ms; errors: {result.error_samples}")
        say(f"load: {asdict(load)}")


if __name__ == "__main__":
    main(sys.argv[1:])
