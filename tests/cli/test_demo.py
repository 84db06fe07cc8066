"""End to end with the real local backend: ``sagelocal demo`` (the tutorial's training step),
``sagelocal train`` on local CSVs, a failing job, and ``jobs logs``. Nothing is faked here."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from support.builders import HAPPY_PATH as SEVEN_PHASES
from typer.testing import CliRunner

from sagelocal import config
from sagelocal.cli.app import app
from sagelocal.cli.demo import TUTORIAL_HYPERPARAMETERS, write_dataset

BUCKET = config.DEFAULT_BUCKET
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("SAGELOCAL_HOME", str(path))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    return path


def console(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("sagelocal")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sagelocal.cli.app"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )


def assert_phases_in_order(stdout: str, phases: list[str]) -> None:
    """Each phase starts a line, stamped as the SDK stamps it, in this order."""
    position = 0
    for phase in phases:
        match = re.compile(rf"^{STAMP} {re.escape(phase)}", re.M).search(stdout, position)
        assert match, f"missing or out of order: {phase!r}\n{stdout[:3000]}"
        position = match.end()


def test_write_dataset_is_the_tutorial_split(tmp_path: Path) -> None:
    paths = write_dataset(tmp_path)
    rows = {name: list(csv.reader(path.open())) for name, path in paths.items()}
    assert {name: len(r) for name, r in rows.items()} == {"train": 398, "validation": 114, "test": 57}
    for r in rows.values():
        assert {len(row) for row in r} == {31}  # label first, then the 30 features, no header
        assert {row[0] for row in r} == {"0", "1"}
    again = tmp_path / "again"
    again.mkdir()
    assert write_dataset(again)["train"].read_text() == paths["train"].read_text()  # same split every time


def test_demo_runs_the_tutorial_training_step(home: Path) -> None:
    result = console("demo")
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, err[-3000:]
    assert "Traceback" not in out + err

    name = re.search(r"^Creating training-job with name: (\S+)$", out, re.M).group(1)
    # Only sagelocal's own line: no SDK or botocore log records (INFO:sagemaker:…, INFO:botocore…).
    assert err == (
        f"Uploaded breast-cancer data (scikit-learn) to s3://{BUCKET}/sagemaker/DEMO-xgboost-dm/train and "
        f"s3://{BUCKET}/sagemaker/DEMO-xgboost-dm/validation\n"
    )
    assert re.fullmatch(r"xgboost-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d{3}", name)
    assert_phases_in_order(out, SEVEN_PHASES)
    assert "[99]#011train-error:" in out and "#011validation-error:" in out

    tail = out.splitlines()[-5:]
    assert re.fullmatch(rf"{STAMP} Completed - Training job completed", tail[0])
    assert re.fullmatch(r"Training seconds: \d+", tail[1])
    assert re.fullmatch(r"Billable seconds: \d+", tail[2])
    uri = f"s3://{BUCKET}/sagemaker/DEMO-xgboost-dm/output/{name}/output/model.tar.gz"
    assert tail[3] == f"Model artifacts: {uri}"
    assert tail[4].startswith("Local file: ")
    local = Path(tail[4].removeprefix("Local file: "))
    assert local.is_file() and local.is_relative_to(home)
    with tarfile.open(local) as tar:
        assert "xgboost-model" in tar.getnames()

    doc = json.loads(console("jobs", "describe", name, "--json").stdout)
    assert doc["TrainingJobStatus"] == "Completed"
    assert doc["AlgorithmSpecification"]["TrainingImage"] == (
        "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"
    )
    assert doc["ResourceConfig"]["InstanceType"] == "ml.m4.xlarge"
    assert doc["HyperParameters"] == {k: str(v) for k, v in TUTORIAL_HYPERPARAMETERS.items()}
    channels = {c["ChannelName"]: c for c in doc["InputDataConfig"]}
    assert channels["train"]["ContentType"] == "csv"
    assert channels["train"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{BUCKET}/sagemaker/DEMO-xgboost-dm/train"
    )
    assert channels["validation"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{BUCKET}/sagemaker/DEMO-xgboost-dm/validation"
    )
    assert doc["ModelArtifacts"]["S3ModelArtifacts"] == uri
    listing = console("s3", "ls", f"s3://{BUCKET}/sagemaker/DEMO-xgboost-dm/train/").stdout
    assert listing.rstrip().endswith(" train.csv")


def test_train_on_local_csvs_json_and_logs(home: Path, tmp_path: Path) -> None:
    data = write_dataset(tmp_path)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "train",
            "--train",
            str(data["train"]),
            "--validation",
            str(data["validation"]),
            "--content-type",
            "text/csv",
            "--xgboost-version",
            "1.7-1",
            "-H",
            "objective=binary:logistic",
            "-H",
            "num_round=10",
            "-H",
            "max_depth=3",
            "--job-name",
            "cli-e2e",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output[-3000:]
    doc = json.loads(result.stdout)  # stdout carries only the document; progress went to stderr
    assert doc["TrainingJobStatus"] == "Completed"
    assert doc["AlgorithmSpecification"]["TrainingImage"] == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    )
    assert doc["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{BUCKET}/cli-e2e/output/model.tar.gz"
    assert_phases_in_order(result.stderr, SEVEN_PHASES)
    assert "[9]#011train-logloss:" in result.stderr
    assert re.search(
        r"^Training seconds: \d+\nBillable seconds: \d+\nModel artifacts: s3://", result.stderr, re.M
    )

    logs = runner.invoke(app, ["jobs", "logs", "cli-e2e"])
    assert logs.exit_code == 0
    assert "[9]#011train-logloss:" in logs.output
    assert not re.search(rf"^{STAMP} ", logs.output, re.M)  # plain log lines, no status lines

    followed = runner.invoke(app, ["jobs", "logs", "cli-e2e", "--follow"])
    assert followed.exit_code == 0
    assert_phases_in_order(followed.output, SEVEN_PHASES)
    assert re.search(r"^Billable seconds: \d+$", followed.output, re.M)


def test_failing_job_exits_1_with_the_failure_reason(home: Path, tmp_path: Path) -> None:
    data = write_dataset(tmp_path)
    result = console(
        "train",
        "--train",
        str(data["train"]),
        "--content-type",
        "csv",
        "--xgboost-version",
        "3.0-5",
        "-H",
        "silent=0",
        "-H",
        "objective=binary:logistic",
        "-H",
        "num_round=10",
        "--job-name",
        "cli-fails",
    )
    assert result.returncode == 1
    reason, last = result.stderr.splitlines()[-2:]
    # The image's FailureReason (sagemaker-containers' "framework error" and traceback, cut at 1,024
    # characters), then sagelocal's own line naming the root error, read from the job's log past the cut.
    assert reason.startswith(
        "Error for Training job cli-fails: Failed. Reason: AlgorithmError: framework error: \\n"
        "Traceback (most recent call last):\\n"
    )
    assert last == "sagelocal: the algorithm failed with UserError: Extraneous hyperparameter found: silent"
    assert re.search(rf"^{STAMP} Failed - Training job failed$", result.stdout, re.M)
    assert "Training seconds" not in result.stdout  # the SDK raises before the seconds lines

    followed = console("jobs", "logs", "cli-fails", "--follow")
    assert followed.returncode == 1
    assert "Extraneous hyperparameter found: silent" in followed.stdout
    assert followed.stderr.splitlines()[-1] == last
