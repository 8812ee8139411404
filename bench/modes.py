"""The bench's experiments: compare app and floor back to back, search each one's capacity,
and sweep the number of displays (with a plot)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bench.launch import Seed
from bench.run import Load, Result, measure

RATES = (20, 40, 60, 80, 100, 130, 160, 200, 250, 300, 400, 500)
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
    rate: float  # highest step sustained (0: none)
    steps: list[Result]


def capacity(floor: bool, seed: Seed, load: Load, say: Say, rates: tuple[int, ...] = RATES,
             step_seconds: float = 5.0, env: dict[str, str] | None = None) -> Capacity:
    """Rising rate steps; a failed step is retried once (the machine is shared), then stops."""
    best, steps = 0.0, []
    for rate in rates:
        for attempt in (1, 2):
            step = replace(load, rate=float(rate), duration=step_seconds)
            result = measure(floor, seed, step, env=env)
            steps.append(result)
            say(f"  capacity step {attempt}: {result.line()}  {'ok' if result.ok else 'FAIL'}")
            if result.ok:
                break
        if not result.ok:
            break
        best = float(rate)
    return Capacity("floor" if floor else "app", best, steps)


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
    app, floor = [], []
    for i in range(repeat):
        for is_floor, results in ((False, app), (True, floor)):
            result = measure(is_floor, seed, load, env=None if is_floor else env)
            results.append(result)
            say(f"run {i + 1}/{repeat}: {result.line()}")
    caps: list[Capacity | None] = [None, None]
    if with_capacity:
        for i, is_floor in enumerate((False, True)):
            caps[i] = capacity(is_floor, seed, load, say, rates, env=None if is_floor else env)
            say(f"capacity {caps[i].target}: {caps[i].rate:g} tickets/s")  # type: ignore[union-attr]
    comparison = Comparison(app, floor, caps[0], caps[1])
    say("ratios app/floor (median of runs): " + ", ".join(
        f"{k}={v:.2f}" for k, v in comparison.ratios().items()))
    return comparison


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
