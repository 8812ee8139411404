"""The bench's experiments: compare app and floor back to back, search each one's capacity,
and sweep the number of displays (with a plot)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bench.launch import Seed
from bench.run import Load, Result, measure

RATES = (20, 40, 60, 80, 100, 130, 160, 200, 250, 300, 400, 500)  # then bisection
DISPLAYS = (50, 200, 500, 1000)
Say = Callable[[str], None]


def clients_for(displays: int) -> int:
    """One client process per ~600 displays keeps each well under a core (see the docs)."""
    return 1 + displays // 600


def median(results: list[Result], key: str) -> float:
    return statistics.median(getattr(r, key) for r in results)


def spread(results: list[Result], key: str) -> str:
    values = [getattr(r, key) for r in results]
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


@dataclass
class Capacity:
    target: str
    rate: float  # highest rate that passed (0: none)
    steps: list[Result]
    failed_rate: float | None = None  # lowest rate that failed (None: every step passed)
    failed_why: str | None = None  # the rule it broke there

    def text(self) -> str:
        """e.g. `165 (172 failed: accept→reply lose p99 131 ms)`."""
        if self.failed_rate is None:
            return f"{self.rate:g} (no step failed)"
        return f"{self.rate:g} ({self.failed_rate:g} failed: {self.failed_why})"


def _step(floor: bool, seed: Seed, load: Load, rate: float, say: Say,
          env: dict[str, str] | None) -> list[Result]:
    """One rate, retried once if it fails (the machine is shared): the runs made."""
    runs = []
    for attempt in (1, 2):
        result = measure(floor, seed, replace(load, rate=rate), env=env)
        runs.append(result)
        say(f"  capacity {rate:g}/s try {attempt}: {result.line()}")
        if result.ok:
            break
    return runs


def capacity(floor: bool, seed: Seed, load: Load, say: Say, rates: tuple[int, ...] = RATES,
             step_seconds: float | None = None, env: dict[str, str] | None = None,
             bisections: int = 2) -> Capacity:
    """Rising rates until one fails, then `bisections` halvings between the last rate that
    passed and the first that failed. Each step lasts `step_seconds` (default: the load's
    duration)."""
    load = replace(load, duration=step_seconds or load.duration)
    cap = Capacity("floor" if floor else "app", 0.0, [])

    def attempt(rate: float) -> bool:
        runs = _step(floor, seed, load, rate, say, env)
        cap.steps += runs
        if runs[-1].ok:
            cap.rate = max(cap.rate, rate)
        elif cap.failed_rate is None or rate < cap.failed_rate:
            cap.failed_rate, cap.failed_why = rate, runs[-1].failed
        return runs[-1].ok

    for rate in rates:
        if not attempt(float(rate)):
            break
    for _ in range(bisections):
        if cap.failed_rate is None or cap.failed_rate - cap.rate < 2:
            break
        attempt(float(round((cap.rate + cap.failed_rate) / 2)))
    return cap


@dataclass
class Comparison:
    app: list[Result]
    floor: list[Result]
    app_capacity: Capacity | None
    floor_capacity: Capacity | None

    def ratios(self) -> dict[str, float]:
        """app / floor: below 1 is better for latencies, above 1 for rates and capacity."""
        out = {key: median(self.app, key) / median(self.floor, key)
               for key in ("new_p50", "new_p99", "claimed_p50", "claimed_p99",
                           "deliveries_per_s", "cpu_ms_per_ticket")}
        if self.app_capacity and self.floor_capacity and self.floor_capacity.rate:
            out["capacity"] = self.app_capacity.rate / self.floor_capacity.rate
        return out


def compare(seed: Seed, load: Load, say: Say, repeat: int = 3, with_capacity: bool = True,
            env: dict[str, str] | None = None, rates: tuple[int, ...] = RATES) -> Comparison:
    """Alternate app and floor runs `repeat` times, then each one's capacity."""
    app: list[Result] = []
    floor: list[Result] = []
    for i in range(repeat):
        for is_floor, results in ((False, app), (True, floor)):
            result = measure(is_floor, seed, load, env=None if is_floor else env)
            results.append(result)
            say(f"run {i + 1}/{repeat}: {result.line()}")
    caps: list[Capacity | None] = [None, None]
    if with_capacity:
        for i, is_floor in enumerate((False, True)):
            caps[i] = capacity(is_floor, seed, load, say, rates, env=None if is_floor else env)
            say(f"capacity {caps[i].target}: {caps[i].text()} tickets/s")  # type: ignore[union-attr]
    comparison = Comparison(app, floor, caps[0], caps[1])
    say(frames_per_ticket(app[-1], floor[-1]))
    say("ratios app/floor (median of runs): " + ", ".join(
        f"{k}={v:.2f}" for k, v in comparison.ratios().items()))
    return comparison


def frames_per_ticket(app: Result, floor: Result) -> str:
    """Broadcast frames per ticket by role and word, app vs floor: the same protocol work
    should give the same counts; a gap over 2 % is flagged."""
    parts = []
    for key in sorted(set(app.frames) | set(floor.frames)):
        a, f = (r.frames.get(key, 0) / max(r.tickets, 1) for r in (app, floor))
        gap = " (GAP)" if abs(a - f) > 0.02 * max(a, f) else ""
        parts.append(f"{key} {a:.1f}/{f:.1f}{gap}")
    return "frames per ticket, app/floor: " + ", ".join(parts)


def sweep(seed: Seed, load: Load, say: Say, displays: tuple[int, ...] = DISPLAYS,
          repeat: int = 1) -> dict[str, list[list[Result]]]:
    """For each D, app and floor (alternating), `repeat` runs each."""
    out: dict[str, list[list[Result]]] = {"app": [], "floor": []}
    for d in displays:
        for target in ("app", "floor"):
            runs = []
            for _ in range(repeat):
                step = replace(load, displays=d, clients=max(load.clients, clients_for(d)))
                result = measure(target == "floor", seed, step)
                say(result.line())
                runs.append(result)
            out[target].append(runs)
    return out


def plot(sweep_results: dict[str, list[list[Result]]], displays: tuple[int, ...],
         path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (lat, rate) = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"app": ("tab:blue", "tablequeue"), "floor": ("tab:gray", "bare Flask-Sock floor")}
    for target, (color, label) in styles.items():
        runs = sweep_results[target]
        lat.plot(displays, [median(r, "claimed_p99") for r in runs], "o-", color=color,
                 label=f"{label}: staff accept -> displays")
        lat.plot(displays, [median(r, "new_p99") for r in runs], "s--", color=color,
                 label=f"{label}: kiosk new -> staff")
        rate.plot(displays, [median(r, "deliveries_per_s") for r in runs], "o-", color=color,
                  label=label)
    lat.set(xlabel="displays (D)", ylabel="p99 latency (ms)", title="p99 latency, 20 tickets/s")
    lat.axhline(100, color="tab:red", linewidth=0.8, linestyle=":")
    rate.set(xlabel="displays (D)", ylabel="frames delivered per second",
             title="deliveries per second, 20 tickets/s")
    for ax in (lat, rate):
        ax.set_xscale("log")
        ax.set_xticks(list(displays), [str(d) for d in displays])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
