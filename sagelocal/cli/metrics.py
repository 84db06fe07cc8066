"""``sagelocal jobs metrics <job>``: a training job's metrics per round, as a table, or a chart with ``--png``.

The metrics are the ones the backend's CloudWatch holds for the job (``Backend.training_metrics``): on
sagelocal one datapoint per round; on real SageMaker, CloudWatch's one-minute averages, so there a "round" is
a minute of training. A terminal gets a rich table; a pipe gets tab-separated lines, header first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sagelocal.backends import get_backend
from sagelocal.backends.base import MetricPoint
from sagelocal.cli.errors import operation
from sagelocal.cli.output import console
from sagelocal.cli.train import BackendOption
from sagelocal.evaluation.curves import Series


def metric_table(series: dict[str, list[MetricPoint]]) -> tuple[list[str], list[list[str]]]:
    """The header and rows: ``round`` (from 0, as XGBoost counts), seconds since the first datapoint, and one
    column per metric (empty where a metric has no value for that round)."""
    names = list(series)
    first = min(points[0].timestamp for points in series.values())
    rounds = max(len(points) for points in series.values())
    rows = []
    for i in range(rounds):
        at = [series[n][i] for n in names if i < len(series[n])]
        elapsed = (min(p.timestamp for p in at) - first).total_seconds()
        values = [repr(series[n][i].value) if i < len(series[n]) else "" for n in names]
        rows.append([str(i), f"{elapsed:.3f}", *values])
    return ["round", "elapsed_s", *names], rows


def print_table(job: str, series: dict[str, list[MetricPoint]], console: Any) -> None:
    header, rows = metric_table(series)
    if not console.is_terminal:
        console.file.write("".join("\t".join(line) + "\n" for line in [header, *rows]))
        console.file.flush()
        return
    from rich.table import Table

    table = Table(title=f"{job}: metrics per round", title_justify="left")
    for i, column in enumerate(header):
        table.add_column(column, justify="right", no_wrap=True, style="bold" if i == 0 else None)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def chart_series(series: dict[str, list[MetricPoint]]) -> list[Series]:
    """The backend's datapoints as the evaluation's per-round series (round = the datapoint's position)."""
    return [
        Series(metric, list(range(len(points))), [p.value for p in points])
        for metric, points in series.items()
    ]


def metrics(
    name: Annotated[str, typer.Argument(help="Training job name.")],
    backend: BackendOption = "local",
    png: Annotated[
        Path | None,
        typer.Option("--png", help="Also draw the metrics per round into this PNG file (needs matplotlib)."),
    ] = None,
) -> None:
    """Print a training job's metrics per round (CloudWatch /aws/sagemaker/TrainingJobs)."""
    if png is not None:  # before any work: without matplotlib, the one line naming the extra
        from sagelocal.evaluation import plots
    be = get_backend(backend)
    with operation("GetMetricStatistics"):
        series = be.training_metrics(name)
    if not series:
        print(f"No metrics for training job {name}.")
        return
    if png is not None:
        plots.metrics_png(chart_series(series), png, title=f"{name}: metrics per round")
    print_table(name, series, console())
    if png is not None:
        print(f"Chart: {png}")
