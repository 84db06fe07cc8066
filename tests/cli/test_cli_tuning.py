"""``sagelocal tune`` and ``sagelocal tuning …``: the request the CLI builds, its usage errors, a small run with
plain progress lines (stdout is not a terminal), and ``--backend sagemaker`` against ``sagelocal serve``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.builders import write_csv
from support.reliability_cases import kill_leftover_workers
from support.server_fixture import Server
from typer.testing import CliRunner

from sagelocal.cli.app import app
from sagelocal.cli.tune import build_tuning_request, parse_range


@pytest.fixture(autouse=True)
def sagelocal_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("SAGELOCAL_HOME", str(home))
    yield home
    kill_leftover_workers(home)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sagelocal.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_ranges_parse_as_the_sdk_sends_them() -> None:
    assert parse_range("eta=0.05:0.5:log") == (
        "ContinuousParameterRanges",
        {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5", "ScalingType": "Logarithmic"},
    )
    assert parse_range("max_depth=3:10:int") == (
        "IntegerParameterRanges",
        {"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"},
    )
    assert parse_range("booster=gbtree,dart") == (
        "CategoricalParameterRanges",
        {"Name": "booster", "Values": ["gbtree", "dart"]},
    )


def test_the_tuning_request() -> None:
    training: dict[str, Any] = {
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "HyperParameters": {"num_round": "5", "eta": "0.2"},
        "InputDataConfig": [{"ChannelName": "train"}],
        "OutputDataConfig": {"S3OutputPath": "s3://b/"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m4.xlarge", "VolumeSizeInGB": 30},
        "RoleArn": "role",
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }
    request = build_tuning_request(
        "tj",
        training,
        ["eta=0.05:0.5", "booster=gbtree,dart"],
        objective="validation:rmse",
        minimize=True,
        strategy="Random",
        max_jobs=20,
        max_parallel=2,
        early_stopping="Auto",
        seed=4,
        max_runtime=None,
        min_resource=None,
        max_resource=None,
    )
    assert request == {
        "HyperParameterTuningJobName": "tj",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2},
            "TrainingJobEarlyStoppingType": "Auto",
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "validation:rmse"},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {"Name": "eta", "MinValue": "0.05", "MaxValue": "0.5", "ScalingType": "Auto"}
                ],
                "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
                "IntegerParameterRanges": [],
            },
            "RandomSeed": 4,
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"num_round": "5"},  # a tuned name is not static, as in the SDK
            "RoleArn": "role",
            "OutputDataConfig": {"S3OutputPath": "s3://b/"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "InputDataConfig": [{"ChannelName": "train"}],
            "HyperParameterTuningResourceConfig": {
                "InstanceCount": 1,
                "InstanceType": "ml.m4.xlarge",
                "VolumeSizeInGB": 30,
            },
        },
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--range", "eta"], "expected NAME=LOW:HIGH[:int][:log] or NAME=A,B,…, got 'eta'"),
        (["--range", "eta=0.1:0.5:cubic"], "unknown range flag in 'eta=0.1:0.5:cubic'"),
        (["--range", "eta=a:b"], "range bounds must be numbers: 'eta=a:b'"),
        (["--strategy", "Smart"], "'Smart' is not one of Bayesian, Random, Grid, Hyperband."),
        (["--early-stopping", "On"], "'On' is not one of Off, Auto."),
    ],
)
def test_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["tune", "--train", "s3://b/t", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.replace("│", " ").split())


def test_unknown_tuning_job_is_one_line() -> None:
    result = CliRunner().invoke(app, ["tuning", "describe", "nope"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "An error occurred (ResourceNotFound) when calling the DescribeHyperParameterTuningJob operation: "
        "Amazon SageMaker can't find a tuning job called nope. Type another name."
    )


@pytest.mark.timeout(300)
def test_tune_prints_a_line_per_child_change_and_the_best_job(tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", 200, seed=1)
    write_csv(tmp_path / "validation.csv", 100, seed=2)
    result = cli(
        "tune", "--train", str(tmp_path / "train.csv"), "--validation", str(tmp_path / "validation.csv"),
        "--content-type", "csv", "-H", "objective=binary:logistic", "-H", "num_round=3",
        "--range", "eta=0.05:0.5:log", "--range", "max_depth=3:10:int", "--range", "booster=gbtree,dart",
        "--objective", "validation:auc", "--max-jobs", "2", "--max-parallel", "2", "--strategy", "Random",
        "--seed", "5", "--job-name", "cli-tuning",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Creating hyperparameter tuning job with name: cli-tuning"
    child = r"cli-tuning-00[12]-[0-9a-f]{8}"
    tuned = r"booster=(gbtree|dart) eta=[0-9.e-]+ max_depth=([3-9]|10)"
    progress = [line for line in lines[1:] if re.match(child, line)]
    assert len([p for p in progress if re.fullmatch(rf"{child} InProgress {tuned}", p)]) == 2, lines
    assert len([p for p in progress if re.fullmatch(rf"{child} Completed 0\.\d{{5}} {tuned}", p)]) == 2, lines
    summary = lines[len(progress) + 1 :]
    assert summary[0] == "Tuning job cli-tuning: Completed"
    assert re.fullmatch(rf"Best training job: {child}", summary[1])
    assert re.fullmatch(r"  validation:auc = 0\.\d+", summary[2])
    assert [s.split(" = ")[0] for s in summary[3:]] == ["  booster", "  eta", "  max_depth"]

    listed = cli("tuning", "list")
    assert "cli-tuning" in listed.stdout and "Completed" in listed.stdout and "2/2" in listed.stdout
    jobs = json.loads(cli("tuning", "jobs", "cli-tuning", "--json").stdout)["TrainingJobSummaries"]
    assert len(jobs) == 2 and {j["TrainingJobStatus"] for j in jobs} == {"Completed"}
    stopped = cli("tuning", "stop", "cli-tuning")
    assert stopped.returncode == 1
    assert stopped.stderr.strip() == (
        "An error occurred (ValidationException) when calling the StopHyperParameterTuningJob operation: "
        "The request was rejected because the hyperparameter tuning job is in status Completed."
    )


@pytest.mark.timeout(300)
def test_backend_sagemaker_sends_the_request_to_the_service(sagelocal_server: Server, tmp_path: Path) -> None:
    write_csv(tmp_path / "train.csv", 200, seed=1)
    write_csv(tmp_path / "validation.csv", 100, seed=2)
    env = sagelocal_server.subprocess_env()
    args = [
        "tune", "--train", str(tmp_path / "train.csv"), "--validation", str(tmp_path / "validation.csv"),
        "--content-type", "csv", "-H", "objective=binary:logistic", "-H", "num_round=2",
        "--range", "eta=0.1:0.5", "--max-jobs", "1", "--strategy", "Random", "--job-name", "via-sagemaker",
        "--role", "arn:aws:iam::123456789012:role/SageMakerRole",
    ]  # fmt: skip
    result = cli(*args, "--backend", "sagemaker", "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    described = json.loads(result.stdout)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"] == [
        {"Name": "eta", "MinValue": "0.1", "MaxValue": "0.5", "ScalingType": "Auto"}
    ]
    assert described["TrainingJobDefinition"]["StaticHyperParameters"] == {
        "objective": "binary:logistic",
        "num_round": "2",
        "_tuning_objective_metric": "validation:auc",
    }
    assert described["BestTrainingJob"]["TrainingJobName"].startswith("via-sagemaker-001-")
    kill_leftover_workers(sagelocal_server.home)
