"""``sagelocal train --wait``'s live display on a terminal (phase, round N/num_round, elapsed, ETA, latest
metrics, the log scrolling above), and the SDK-style lines, unchanged, when stdout is not a terminal."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from support.builders import write_csv
from typer.testing import CliRunner

from sagelocal.backends.local import LocalBackend
from sagelocal.cli.app import app
from sagelocal.cli.live import LiveState, duration, watch_live
from sagelocal.cli.train import live_terminal

NUM_ROUND = 5
STATUS_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+ - .+$")
ESCAPE = "\x1b["


def console_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("sagelocal")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sagelocal.cli.app"]
    return [*command, *args]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("live-data")
    write_csv(folder / "train.csv", 200, seed=4)
    write_csv(folder / "validation.csv", 80, seed=5)
    return folder


def train_args(data: Path, name: str) -> list[str]:
    return [
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
        "eval_metric=auc",
        "--job-name",
        name,
    ]


def env_for(home: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGELOCAL_"))}
    environment["SAGELOCAL_HOME"] = str(home)
    environment["TERM"] = "xterm-256color"
    return environment


def test_state_counts_rounds_and_estimates_the_rest() -> None:
    now = [1000.0]
    state = LiveState("job-x", clock=lambda: now[0])
    state.describe(
        {
            "SecondaryStatus": "Training",
            "TrainingJobStatus": "InProgress",
            "CreationTime": datetime.fromtimestamp(990, tz=UTC),
            "HyperParameters": {"num_round": "10"},
            "AlgorithmSpecification": {
                "MetricDefinitions": [
                    {"Name": "validation:auc", "Regex": r".*\[[0-9]+\].*#011validation-auc:(\S+)"}
                ]
            },
        }
    )
    assert state.eta() == "-"  # no round yet
    for i, auc in enumerate([0.8, 0.85, 0.9]):
        state.event(
            {"timestamp": (995 + 2 * i) * 1000, "message": f"[{i}]#011train-auc:0.9#011validation-auc:{auc}"}
        )
    state.event({"timestamp": 1_000_000, "message": "[2026-12-02:10:00:00:INFO] not a round"})
    assert (state.rounds_done, state.metrics) == (3, {"validation:auc": 0.9})
    assert state.eta() == "0:00:14"  # 2 s a round, 7 rounds to go
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=100, color_system=None).print(state.render())
    text = out.getvalue()
    assert "Training job job-x" in text
    assert re.search(r"Phase Training\s+Round 3/10\s+Elapsed 0:00:10\s+ETA 0:00:14", text), text
    assert re.search(r"validation:auc\s+0\.9\n", text), text
    assert duration(3725) == "1:02:05"


def test_live_display_on_a_forced_terminal(tmp_path: Path, data: Path) -> None:
    backend = LocalBackend(tmp_path / "home")
    name = "live-forced"
    submitted = CliRunner().invoke(
        app, [*train_args(data, name), "--no-wait"], env={"SAGELOCAL_HOME": str(tmp_path / "home")}
    )
    assert submitted.exit_code == 0, submitted.output
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    description = watch_live(backend, name, console)
    assert description["TrainingJobStatus"] == "Completed"
    text = out.getvalue()
    final = {m["MetricName"]: m["Value"] for m in description["FinalMetricDataList"]}
    # The last frame the panel drew: the job's end state and its final metrics.
    last = text[text.rindex("Training job live-forced") :]
    assert re.search(
        rf"Phase Completed\s+Round {NUM_ROUND}/{NUM_ROUND}\s+Elapsed \d:\d\d:\d\d\s+ETA 0:00:00", last
    ), last
    for metric, value in final.items():
        assert re.search(rf"{re.escape(metric)}\s+{re.escape(repr(value))}", last), (metric, last)
    # Above it, the job's log and status lines as the SDK prints them.
    log = [e["message"] for e in backend.get_log_events(name)]
    assert f"[{NUM_ROUND - 1}]#011train-auc" in text
    assert all(line in text for line in log if line.strip())
    assert re.search(r"\d\d:\d\d:\d\d Completed - Training job completed", text)


def _run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        args, env=env, stdin=follower, stdout=follower, stderr=follower, close_fds=True
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([leader], [], [], 300)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_train_on_a_terminal_shows_the_live_display(tmp_path: Path, data: Path) -> None:
    code, text = _run_in_pty(console_command(*train_args(data, "live-pty")), env_for(tmp_path / "home"))
    assert code == 0, text
    assert "Creating training-job with name: live-pty" in text
    assert re.search(rf"Phase .*Completed.*Round .*{NUM_ROUND}/{NUM_ROUND}", text), text[-3000:]
    assert "validation:auc" in text and ESCAPE in text
    assert re.search(r"Training seconds: \d+\r?\nBillable seconds: \d+", text)


def test_piped_train_prints_the_sdk_lines_only(tmp_path: Path, data: Path) -> None:
    """Off a terminal: exactly the lines of the JobWatcher, no panel, no escape codes; the log lines are the
    job's log, in order."""
    home = tmp_path / "home"
    result = subprocess.run(
        console_command(*train_args(data, "live-piped")),
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert ESCAPE not in result.stdout and "Phase " not in result.stdout and "ETA" not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[0] == "Creating training-job with name: live-piped"
    tail = lines[-4:]
    assert re.fullmatch(r"Training seconds: \d+", tail[0]) and re.fullmatch(r"Billable seconds: \d+", tail[1])
    assert tail[2].startswith("Model artifacts: s3://") and tail[3].startswith("Local file: ")
    body = [line for line in lines[1:-4] if line and not STATUS_LINE.match(line) and line.strip(".")]
    logged = [e["message"] for e in LocalBackend(home).get_log_events("live-piped") if e["message"]]
    assert body == logged


@pytest.mark.parametrize(
    ("isatty", "term", "live"), [(True, "xterm", True), (False, "xterm", False), (True, "dumb", False)]
)
def test_live_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, isatty: bool, term: str, live: bool
) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return isatty

    monkeypatch.setenv("TERM", term)
    assert live_terminal(Stream()) is live
