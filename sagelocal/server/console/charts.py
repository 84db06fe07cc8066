"""The geometry of the console's SVG charts, computed here and drawn by the templates (``chart.html``).

Series are grouped by what they measure (``train:rmse`` and ``validation:rmse`` share a chart, as the metric
graphs of the SageMaker console's Monitor section show one metric each), so metrics on different scales never
share an axis. x is the round (the series' point index), y the value.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagelocal.server.console.series import Series

WIDTH = 560
HEIGHT = 220
#: Plot area inside the SVG: room on the left for the y labels and below for the x labels.
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 10, 28
SPARK_WIDTH, SPARK_HEIGHT = 120, 24
#: Colour-blind-safe palette (Okabe & Ito, "Color Universal Design"), cycled per series.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


@dataclass(frozen=True)
class Line:
    name: str
    color: str
    points: str  # SVG polyline points "x,y x,y …"
    first: tuple[float, float]  # where a one-point series draws its dot
    last_value: float


@dataclass(frozen=True)
class Tick:
    at: float  # pixel position
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right_edge: int = WIDTH - RIGHT
    bottom_edge: int = HEIGHT - BOTTOM


def _group(name: str) -> str:
    return name.split(":", 1)[1] if ":" in name else name


def _label(value: float) -> str:
    return f"{value:.4g}"


def _scale(lo: float, hi: float, a: float, b: float) -> tuple[float, float]:
    """(factor, offset) mapping [lo, hi] onto [a, b]; a flat range maps to the middle."""
    if hi == lo:
        return 0.0, (a + b) / 2
    factor = (b - a) / (hi - lo)
    return factor, a - lo * factor


def metric_charts(series: list[Series]) -> list[Chart]:
    """One chart per measured quantity, in the order the series come, each with one line per series."""
    groups: dict[str, list[Series]] = {}
    for s in series:
        if s.values:
            groups.setdefault(_group(s.name), []).append(s)
    charts = []
    color_index = 0
    for title, members in groups.items():
        values = [v for s in members for v in s.values]
        lo, hi = min(values), max(values)
        rounds = max(len(s.values) for s in members)
        x_factor, x_offset = _scale(0, max(rounds - 1, 0), LEFT, WIDTH - RIGHT)
        y_factor, y_offset = _scale(lo, hi, HEIGHT - BOTTOM, TOP)
        lines = []
        for s in members:
            coords = [(i * x_factor + x_offset, v * y_factor + y_offset) for i, v in enumerate(s.values)]
            lines.append(
                Line(
                    name=s.name,
                    color=PALETTE[color_index % len(PALETTE)],
                    points=" ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
                    first=coords[0],
                    last_value=s.values[-1],
                )
            )
            color_index += 1
        x_marks = sorted({0, (rounds - 1) // 2, rounds - 1})
        y_marks = [lo] if hi == lo else [lo + (hi - lo) * k / 4 for k in range(5)]
        charts.append(
            Chart(
                title=title,
                lines=lines,
                x_ticks=[Tick(i * x_factor + x_offset, str(i)) for i in x_marks],
                y_ticks=[Tick(v * y_factor + y_offset, _label(v)) for v in y_marks],
            )
        )
    return charts


def sparkline(series: Series | None) -> str | None:
    """The points of a small line of ``series`` (None when there is nothing to draw)."""
    if series is None or not series.values:
        return None
    lo, hi = min(series.values), max(series.values)
    x_factor, x_offset = _scale(0, max(len(series.values) - 1, 1), 1, SPARK_WIDTH - 1)
    y_factor, y_offset = _scale(lo, hi, SPARK_HEIGHT - 2, 2)
    return " ".join(
        f"{i * x_factor + x_offset:.1f},{v * y_factor + y_offset:.1f}" for i, v in enumerate(series.values)
    )
