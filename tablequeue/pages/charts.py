"""Chart geometry for server-rendered SVG: Python works out every rectangle and line,
templates/reports/_charts.html draws them. No script and no inline style (the CSP stays as
it is): colours come from classes in tablequeue.css, so print and screen share one look."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 720, 200  # viewBox units; the SVG scales to its box
LEFT, BOTTOM, TOP = 44, 22, 10  # room for the value axis, the labels, the top value
HEAT_LEVELS = 5


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    text: str  # the tooltip: "Mon 9:00 · 12"
    show_label: bool


@dataclass(frozen=True)
class Axis:
    top: float  # the value at the top grid line
    ticks: list[tuple[float, str]]  # (y, label)


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    points: str  # SVG polyline points
    dots: list[tuple[float, float, str]]


@dataclass(frozen=True)
class Cell:
    x: float
    y: float
    level: int
    text: str


def nice_top(largest: float) -> float:
    """A round axis top at or above `largest` (1, 2, 2.5, 5 x 10^n)."""
    if largest <= 0:
        return 1
    magnitude = 10 ** (len(str(int(largest))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= largest:
            return step * magnitude
    return 10 * magnitude


def axis(largest: float, fmt: str = "{:g}") -> Axis:
    top = nice_top(largest)
    plot = HEIGHT - BOTTOM - TOP
    return Axis(top, [(TOP + plot * (1 - k / 4), fmt.format(top * k / 4)) for k in range(5)])


def bars(points: list[tuple[str, float, str]], every: int = 1) -> tuple[list[Bar], Axis]:
    """(label, value, tooltip) per bar; a label is printed under every `every`-th bar."""
    scale = axis(max((v for _, v, _ in points), default=0))
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(points), 1)
    gap = min(slot * 0.2, 4)
    drawn = []
    for i, (label, value, text) in enumerate(points):
        h = plot_h * value / scale.top
        drawn.append(Bar(LEFT + i * slot + gap / 2, TOP + plot_h - h, slot - gap, h, label,
                         value, text, i % every == 0))
    return drawn, scale


def lines(labels: list[str], series: list[tuple[str, str, list[float | None]]]
          ) -> tuple[list[Series], Axis, list[tuple[float, str]]]:
    """Several series over the same x labels (None: no value that day, a gap in dots)."""
    values = [v for _, _, vs in series for v in vs if v is not None]
    scale = axis(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(labels), 1)
    x_of = [LEFT + step * (i + 0.5) for i in range(len(labels))]
    drawn = []
    for name, css, vs in series:
        dots = [(x_of[i], TOP + plot_h * (1 - v / scale.top), f"{labels[i]} · {name} {v:g}")
                for i, v in enumerate(vs) if v is not None]
        drawn.append(Series(name, css, " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in dots), dots))
    every = max(1, len(labels) // 12)
    return drawn, scale, [(x_of[i], labels[i]) for i in range(0, len(labels), every)]


def heat(matrix: list[list[int]], rows: list[str]) -> tuple[list[Cell], int]:
    """Weekday x hour cells, each with a level 0..HEAT_LEVELS for its colour class."""
    largest = max((v for row in matrix for v in row), default=0)
    cells = []
    for r, row in enumerate(matrix):
        for hour, value in enumerate(row):
            level = 0 if value == 0 else 1 + (HEAT_LEVELS - 1) * value // max(largest, 1)
            cells.append(Cell(LEFT + hour * (WIDTH - LEFT) / 24, TOP + r * 22,
                              min(level, HEAT_LEVELS), f"{rows[r]} {hour:02d}:00 · {value}"))
    return cells, largest
