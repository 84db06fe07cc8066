"""The chart of ``sagelocal jobs metrics --png``: every metric against the round, named in the legend.

Drawn with matplotlib's object API on the Agg canvas (no pyplot state, no display needed). matplotlib comes
with the ``charts`` extra; without it the import fails and the CLI names the extra.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sagelocal.backends.base import MetricPoint


def chart_figure(job: str, series: dict[str, list[MetricPoint]]) -> Figure:
    """One line per metric (validation solid, train dashed), value against round, with a legend."""
    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for metric, points in series.items():
        style = "--" if metric.startswith("train:") else "-"
        axes.plot(range(len(points)), [p.value for p in points], style, marker=".", label=metric)
    axes.set_xlabel("round")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("value")
    axes.set_title(f"{job}: metrics per round")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="best")
    figure.tight_layout()
    return figure


def save_png(figure: Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
