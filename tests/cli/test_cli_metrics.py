"""``sagelocal jobs metrics <job> [--png FILE]``: the metrics per round as a table (tab-separated when piped,
a rich table on a terminal) and as a chart whose legend names every metric. The emulated backend reads the job's
log; the ``sagemaker`` backend reads CloudWatch through boto3, here against ``sagelocal serve``."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from support.builders import write_csv
from support.metric_jobs import train_job
from typer.testing import CliRunner

from sagelocal.backends.base import MetricPoint
from sagelocal.backends.local import LocalBackend
from sagelocal.backends.sagemaker import SageMakerBackend
from sagelocal.cli.app import app
from sagelocal.cli.metrics import chart_series, metric_table, print_table
from sagelocal.evaluation.plots import metrics_figure

JOB = "cli-metrics"
NUM_ROUND = 6
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-metrics") / "home"


@pytest.fixture
def env(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAGELOCAL_HOME", str(home))
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "SAGELOCAL_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    return home


@pytest.fixture(scope="module")
def trained(home: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A finished local job with train and validation channels, reporting logloss and error each round."""
    data = tmp_path_factory.mktemp("cli-metrics-data")
    write_csv(data / "train.csv", 200, seed=1)
    write_csv(data / "validation.csv", 80, seed=2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SAGELOCAL_HOME", str(home))
        result = CliRunner().invoke(
            app,
            [
                "train",
                "--xgboost-version",
                "1.7-1",
                "--train",
                f"file://{data / 'train.csv'}",
                "--validation",
                f"file://{data / 'validation.csv'}",
                "--content-type",
                "csv",
                "-H",
                f"num_round={NUM_ROUND}",
                "-H",
                "objective=binary:logistic",
                "-H",
                "eval_metric=error,logloss",
                "--job-name",
                JOB,
            ],
        )
        assert result.exit_code == 0, result.output
        return LocalBackend(home).describe_training_job(JOB)


METRICS = ["train:error", "train:logloss", "validation:error", "validation:logloss"]


def test_backend_metrics_per_round_end_at_the_final_metrics(trained: dict[str, Any], home: Path) -> None:
    series = LocalBackend(home).training_metrics(JOB)
    assert list(series) == METRICS  # MetricDefinitions order, only those the log matched
    assert all(len(points) == NUM_ROUND for points in series.values())
    final = {m["MetricName"]: m["Value"] for m in trained["FinalMetricDataList"]}
    assert {name: points[-1].value for name, points in series.items()} == final
    times = [p.timestamp for p in series["validation:logloss"]]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)


def test_piped_table_is_tab_separated(trained: dict[str, Any], env: Path) -> None:
    result = CliRunner().invoke(app, ["jobs", "metrics", JOB])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "\t".join(["round", "elapsed_s", *METRICS])
    assert len(lines) == 1 + NUM_ROUND
    rows = [line.split("\t") for line in lines[1:]]
    assert [row[0] for row in rows] == [str(i) for i in range(NUM_ROUND)]
    assert rows[0][1] == "0.000"
    final = {m["MetricName"]: m["Value"] for m in trained["FinalMetricDataList"]}
    assert [float(v) for v in rows[-1][2:]] == [final[m] for m in METRICS]


def test_terminal_gets_a_rich_table() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    series = {
        "train:auc": [MetricPoint(start + timedelta(seconds=i), 0.9 + i / 100) for i in range(3)],
        "validation:auc": [MetricPoint(start + timedelta(seconds=i, milliseconds=5), 0.8) for i in range(2)],
    }
    out = io.StringIO()
    print_table("job-x", series, Console(file=out, force_terminal=True, width=100, color_system=None))
    text = out.getvalue()
    assert "job-x: metrics per round" in text
    assert re.search(r"round\s*┃\s*elapsed_s\s*┃\s*train:auc\s*┃\s*validation:auc", text), text
    assert re.search(r"│\s*2\s*│\s*2\.000\s*│\s*0\.92\s*│\s*│", text), text  # no validation value in round 2
    assert metric_table(series)[1][1] == ["1", "1.000", "0.91", "0.8"]


def test_png_chart_names_every_metric(trained: dict[str, Any], env: Path, tmp_path: Path) -> None:
    png = tmp_path / "charts" / "metrics.png"
    result = CliRunner().invoke(app, ["jobs", "metrics", JOB, "--png", str(png)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"Chart: {png}"
    data = png.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    # The figure the command drew: one line per metric, each named in the legend, NUM_ROUND points each.
    # (the evaluation's metrics.png figure: one panel per metric, a line per data set named in its legend)
    figure = metrics_figure(
        chart_series(LocalBackend(env).training_metrics(JOB)), f"{JOB}: metrics per round"
    )
    named = [
        f"{text.get_text()}:{axes.get_ylabel()}"
        for axes in figure.axes
        for text in axes.get_legend().get_texts()
    ]
    assert sorted(named) == METRICS
    assert [len(line.get_xdata()) for axes in figure.axes for line in axes.get_lines()] == [NUM_ROUND] * 4
    assert {axes.get_xlabel() for axes in figure.axes} == {"round"}
    assert figure.axes[0].get_title() == f"{JOB}: metrics per round"


def test_unknown_job_and_job_without_metrics(env: Path) -> None:
    result = CliRunner().invoke(app, ["jobs", "metrics", f"no-such-{uuid.uuid4().hex[:6]}"])
    assert result.exit_code == 1
    assert "Requested resource not found." in result.output


def test_sagemaker_backend_reads_cloudwatch(
    sagelocal_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--backend sagemaker`` against ``sagelocal serve``: ListMetrics then GetMetricStatistics per metric,
    the same values as the emulated backend reads from the log."""
    name = f"cli-cw-{uuid.uuid4().hex[:6]}"
    description = train_job(sagelocal_server, name, num_round=3)
    for key, value in sagelocal_server.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    series = SageMakerBackend().training_metrics(name)
    assert list(series) == ["train:auc", "validation:auc"]
    assert [len(p) for p in series.values()] == [3, 3]
    final = {m["MetricName"]: m["Value"] for m in description["FinalMetricDataList"]}
    assert {n: p[-1].value for n, p in series.items()} == final
    result = CliRunner().invoke(app, ["jobs", "metrics", name, "--backend", "sagemaker"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "round\telapsed_s\ttrain:auc\tvalidation:auc"
    assert len(result.output.splitlines()) == 4
