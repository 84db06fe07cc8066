"""The CLI's output as a new user meets it: read through a pipe that closes early (``| head``), with no
library log records on stderr, one line per line, and one warning of sagelocal's own for a hyperparameter the
0.72 image would ignore without a word.

Everything runs the console script as a subprocess over one state directory with one finished 0.72 job.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.builders import write_csv

JOB = "cli-output-072"


def console_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("sagelocal")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sagelocal.cli.app"]
    return [*command, *args]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("cli-output") / "home"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGELOCAL_"))}
    environment["SAGELOCAL_HOME"] = str(home)
    return environment


@pytest.fixture(scope="module")
def trained(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess:
    """``sagelocal train`` on the 0.72 image with a misspelled ``max_depth``."""
    data = tmp_path_factory.mktemp("cli-output-data") / "train.csv"
    write_csv(data, 200, seed=3)
    return subprocess.run(
        console_command(
            "train",
            "--xgboost-version",
            "1",
            "--train",
            f"file://{data}",
            "--content-type",
            "csv",
            "-H",
            "num_round=40",
            "-H",
            "objective=binary:logistic",
            "-H",
            "max_dpeth=3",
            "--job-name",
            JOB,
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_misspelled_hyperparameter_on_072_warns_once_and_trains(trained: subprocess.CompletedProcess) -> None:
    assert trained.returncode == 0, trained.stdout + trained.stderr
    # The image ignores the key and trains with max_depth's default (6), as the real 0.72 image does; the one
    # line is sagelocal's own, on stderr, and nothing else is (no INFO:sagemaker/INFO:botocore records).
    assert trained.stderr == (
        "sagelocal: warning: the XGBoost 0.72 image ignores the unknown hyperparameter 'max_dpeth' and "
        "trains with the defaults. Did you mean 'max_depth'?\n"
    )
    assert trained.stdout.startswith(f"Creating training-job with name: {JOB}\n")
    assert "max_dpeth" not in trained.stdout  # the job's own log says nothing about it, as on SageMaker


def test_every_progress_line_ends_with_a_newline(trained: subprocess.CompletedProcess) -> None:
    for line in trained.stdout.splitlines():
        # a status line never runs into a log line or into the SDK's dots
        assert not any(f"{status}[" in line for status in ("completed", "data", "progress.", "training")), (
            line
        )
        assert "INFO:" not in line


def _read_then_close(args: list[str], env: dict[str, str], lines: int) -> tuple[int, str]:
    """Run ``args`` with stdout into a pipe whose reader takes ``lines`` lines then closes it, as ``head``."""
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stderr is not None
    for _ in range(lines):
        process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    return process.wait(timeout=120), stderr


@pytest.mark.parametrize(
    "args",
    [
        ("jobs", "logs", JOB),
        ("jobs", "logs", JOB, "--follow"),
        ("jobs", "describe", JOB),
        ("jobs", "list"),
        ("jobs", "metrics", JOB),
    ],
)
@pytest.mark.parametrize("lines", [0, 1])
def test_output_into_a_closed_pipe_exits_quietly(
    trained: subprocess.CompletedProcess, env: dict[str, str], args: tuple[str, ...], lines: int
) -> None:
    assert trained.returncode == 0
    code, stderr = _read_then_close(console_command(*args), env, lines)
    assert (code, stderr) == (0, "")


@pytest.mark.parametrize("lines", [1, 2])
@pytest.mark.parametrize("command", [("jobs", "logs", JOB), ("jobs", "metrics", JOB)])
def test_jobs_logs_piped_into_head(
    trained: subprocess.CompletedProcess, env: dict[str, str], command: tuple[str, ...], lines: int
) -> None:
    assert trained.returncode == 0
    shell = subprocess.run(
        ["bash", "-c", f'set -o pipefail; "$@" | head -{lines}', "bash", *console_command(*command)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (shell.returncode, shell.stderr) == (0, "")
    assert len(shell.stdout.splitlines()) == lines
