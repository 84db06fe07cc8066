"""The ``sagemaker`` backend end to end against ``sagelocal serve``, reached only through boto3's endpoint
variables (AWS_ENDPOINT_URL_SAGEMAKER/_S3/_CLOUDWATCH_LOGS/_STS) with dummy credentials: the same code path
that talks to real SageMaker. The headline runs the classic bank-marketing tutorial job and checks that it
matches the ``local`` backend's run of the same request."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.builders import HAPPY_PATH as SEVEN_PHASES
from support.builders import TUTORIAL_HYPERPARAMETERS, TUTORIAL_IMAGE, tutorial_request
from support.server_fixture import Server, clean_environ

from sagelocal import config
from sagelocal.aws import errors
from sagelocal.backends.base import TERMINAL_STATUSES
from sagelocal.backends.sagemaker import (
    LOOPBACK_POLL_INTERVAL,
    NO_CREDENTIALS,
    NO_REGION,
    NO_ROLE,
    SageMakerBackend,
)

PREFIX = "sagemaker/DEMO-xgboost-dm"
ACCOUNT_BUCKET = f"sagemaker-us-east-1-{config.ACCOUNT_ID}"
FOLLOW_LIMIT = 600.0  # a guard against a hung job, not a timing assertion


@pytest.fixture
def aws_env(sagelocal_server: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    """This process's environment as a notebook pointed at the server sees it: nothing but the server's
    endpoint variables, dummy credentials and the region."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "SAGEMAKER_")) or name == "SAGELOCAL_ROLE_ARN":
            monkeypatch.delenv(name)
    for name, value in sagelocal_server.env.items():
        monkeypatch.setenv(name, value)
    return sagelocal_server


def follow(backend: Any, name: str, poll_interval: float) -> tuple[dict, list[dict]]:
    """Stream the job's log events while polling describe, as ``fit(logs=True)`` does: ask for events from
    the last timestamp seen (inclusive) and drop those already seen at that timestamp, per stream."""
    events: list[dict] = []
    last: int | None = None
    seen_at_last: Counter[str] = Counter()
    deadline = time.monotonic() + FOLLOW_LIMIT
    while True:
        description = backend.describe_training_job(name)
        done = description["TrainingJobStatus"] in TERMINAL_STATUSES
        skip = Counter(seen_at_last)
        for event in backend.get_log_events(name, start_time=last):
            if event["timestamp"] == last and skip[event["logStreamName"]] > 0:
                skip[event["logStreamName"]] -= 1
                continue
            events.append(event)
        if events:
            last = events[-1]["timestamp"]
            seen_at_last = Counter(e["logStreamName"] for e in events if e["timestamp"] == last)
        if done:
            return description, events
        assert time.monotonic() < deadline, f"training job {name} did not finish"
        time.sleep(poll_interval)


def transitions(description: dict) -> list[tuple[str, str]]:
    return [(t["Status"], t["StatusMessage"]) for t in description["SecondaryStatusTransitions"]]


def tar_members(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return sorted(tar.getnames())


def load_model(archive: Path) -> Any:
    """The booster inside model.tar.gz: a pickle for the 0.72 … 1.2 images, XGBoost's own format after."""
    import xgboost as xgb

    with tarfile.open(archive) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        payload = member.read()
    try:
        return pickle.loads(payload)
    except Exception:
        booster = xgb.Booster()
        booster.load_model(bytearray(payload))
        return booster


def predict(archive: Path, csv: Path) -> np.ndarray:
    import pandas as pd
    import xgboost as xgb

    features = pd.read_csv(csv, header=None).to_numpy(dtype=float)[:, 1:]  # label first, as in the tutorial
    return load_model(archive).predict(xgb.DMatrix(features))


def metric_lines(events: list[dict]) -> list[str]:
    return [e["message"] for e in events if "#011train-" in e["message"]]


@pytest.fixture
def small_csv(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(7)
    paths = []
    for name, rows in (("train.csv", 400), ("validation.csv", 100)):
        x = rng.normal(size=(rows, 6))
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
        path = tmp_path / name
        np.savetxt(path, np.column_stack([y, x]), delimiter=",", fmt="%.6g")
        paths.append(path)
    return paths[0], paths[1]


# --- the API surface against the server ------------------------------------------------------------------


def test_endpoints_come_from_the_variables(aws_env: Server) -> None:
    backend = SageMakerBackend()
    assert backend.poll_interval == LOOPBACK_POLL_INTERVAL
    assert backend.region == "us-east-1"
    assert backend.account_id() == config.ACCOUNT_ID  # STS GetCallerIdentity answered by the server
    for service in ("sagemaker", "s3", "logs", "sts"):
        assert backend._client(service).meta.endpoint_url == aws_env.url


def test_default_bucket_is_created_on_the_server(aws_env: Server) -> None:
    assert SageMakerBackend().default_bucket() == ACCOUNT_BUCKET
    assert SageMakerBackend().default_bucket() == ACCOUNT_BUCKET  # now it exists: head_bucket succeeds
    names = [b["Name"] for b in aws_env.client("s3").list_buckets()["Buckets"]]
    assert ACCOUNT_BUCKET in names


def test_upload_and_fetch_round_trip(aws_env: Server, small_csv: tuple[Path, Path], tmp_path: Path) -> None:
    backend = SageMakerBackend()
    bucket = backend.default_bucket()
    train, _ = small_csv
    uri = backend.upload_input(train, f"s3://{bucket}/roundtrip/train")
    assert uri == f"s3://{bucket}/roundtrip/train/train.csv"
    fetched = backend.fetch_artifact(uri, tmp_path / "back")
    assert fetched == tmp_path / "back" / "train.csv"
    assert fetched.read_bytes() == train.read_bytes()
    with pytest.raises(errors.NoSuchKey):
        backend.fetch_artifact(f"s3://{bucket}/roundtrip/missing.csv", tmp_path / "back")
    with pytest.raises(errors.NoSuchBucket):
        backend.upload_input(train, "s3://no-such-bucket-here/x")


def test_service_errors_match_sagemaker(aws_env: Server, small_csv: tuple[Path, Path]) -> None:
    backend = SageMakerBackend()
    with pytest.raises(errors.ValidationException) as info:
        backend.describe_training_job("no-such-job")
    assert str(info.value) == "ValidationException: Requested resource not found."
    assert backend.get_log_events("no-such-job") == []

    bucket = backend.default_bucket()
    train, _ = small_csv
    uri = backend.upload_input(train, f"s3://{bucket}/errors/train")
    request = tutorial_request("sm-e2e-errors", {"train": uri}, f"s3://{bucket}/errors/output", num_round="3")
    response = backend.create_training_job(request)
    assert response == {
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{config.ACCOUNT_ID}:training-job/sm-e2e-errors"
    }
    with pytest.raises(errors.ResourceInUse) as info:
        backend.create_training_job(request)
    assert str(info.value) == (
        "ResourceInUse: Training job names must be unique within an AWS account and region, "
        "and a training job with this name already exists"
    )
    bad = dict(request, TrainingJobName="bad_name")
    with pytest.raises(errors.ValidationException) as info:
        backend.create_training_job(bad)
    assert str(info.value).startswith("ValidationException: 1 validation error detected: Value 'bad_name' at")

    listed = backend.list_training_jobs(NameContains="sm-e2e-errors")
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == ["sm-e2e-errors"]
    final = backend.wait("sm-e2e-errors")
    assert final["TrainingJobStatus"] in TERMINAL_STATUSES


def test_stop_training_job(aws_env: Server, small_csv: tuple[Path, Path]) -> None:
    backend = SageMakerBackend()
    bucket = backend.default_bucket()
    train, _ = small_csv
    uri = backend.upload_input(train, f"s3://{bucket}/stop/train")
    backend.create_training_job(
        tutorial_request("sm-e2e-stop", {"train": uri}, f"s3://{bucket}/stop/output", num_round="100000")
    )
    backend.stop_training_job("sm-e2e-stop")
    final = backend.wait("sm-e2e-stop")
    assert final["TrainingJobStatus"] in ("Stopped", "Completed")
    with pytest.raises(errors.ValidationException):
        backend.stop_training_job("no-such-job")


# --- the headline: the tutorial job on both backends -------------------------------------------------------


def run_on_sagemaker_backend(
    train: Path, validation: Path, name: str, download: Path, **hyperparameters: str
) -> dict[str, Any]:
    backend = SageMakerBackend()
    bucket = backend.default_bucket()
    channels = {
        "train": backend.upload_input(train, f"s3://{bucket}/{PREFIX}/train"),
        "validation": backend.upload_input(validation, f"s3://{bucket}/{PREFIX}/validation"),
    }
    request = tutorial_request(name, channels, f"s3://{bucket}/{PREFIX}/output", **hyperparameters)
    backend.create_training_job(request)
    description, events = follow(backend, name, backend.poll_interval)
    artifact = backend.fetch_artifact(description["ModelArtifacts"]["S3ModelArtifacts"], download)
    return {"request": request, "description": description, "events": events, "artifact": artifact}


def run_on_local_backend(request: dict, train: Path, validation: Path, home: Path) -> dict[str, Any]:
    from sagelocal.backends.local import LocalBackend

    backend = LocalBackend(home=home)
    for channel, path in (("train", train), ("validation", validation)):
        backend.upload_input(path, f"s3://{ACCOUNT_BUCKET}/{PREFIX}/{channel}")
    backend.create_training_job(request)
    description, events = follow(backend, request["TrainingJobName"], 0.1)
    artifact = backend.fetch_artifact(description["ModelArtifacts"]["S3ModelArtifacts"], home / "download")
    return {"description": description, "events": events, "artifact": artifact}


def check_same_job(remote: dict[str, Any], local: dict[str, Any], test_csv: Path) -> None:
    name = remote["request"]["TrainingJobName"]
    described = remote["description"]
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == (
        f"s3://{ACCOUNT_BUCKET}/{PREFIX}/output/{name}/output/model.tar.gz"
    )
    assert remote["artifact"].name == "model.tar.gz" and remote["artifact"].is_file()
    assert described["HyperParameters"] == remote["request"]["HyperParameters"]
    assert described["ResourceConfig"]["InstanceType"] == "ml.m4.xlarge"

    metrics = metric_lines(remote["events"])
    assert metrics, "no #011train- metric lines were streamed"
    assert all(e["logStreamName"].startswith(f"{name}/algo-1-") for e in remote["events"])

    assert local["description"]["TrainingJobStatus"] == "Completed"
    assert transitions(described) == transitions(local["description"])
    assert tar_members(remote["artifact"]) == tar_members(local["artifact"])
    assert metrics == metric_lines(local["events"])
    np.testing.assert_allclose(
        predict(remote["artifact"], test_csv), predict(local["artifact"], test_csv), rtol=0, atol=1e-6
    )


def test_small_job_matches_the_local_backend(
    aws_env: Server, small_csv: tuple[Path, Path], tmp_path: Path
) -> None:
    train, validation = small_csv
    remote = run_on_sagemaker_backend(train, validation, "sm-e2e-small", tmp_path / "sm", num_round="10")
    local = run_on_local_backend(remote["request"], train, validation, tmp_path / "local-home")
    check_same_job(remote, local, validation)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # two 100-round jobs on 28,831 rows; generous for a loaded CI machine
def test_tutorial_job_matches_the_local_backend(
    aws_env: Server, bank_data: tuple[Path, Path], tmp_path: Path
) -> None:
    train, test = bank_data
    remote = run_on_sagemaker_backend(train, test, "xgboost-sm-e2e-tutorial", tmp_path / "sm")
    assert len(metric_lines(remote["events"])) >= 100  # one line per round, num_round=100
    local = run_on_local_backend(remote["request"], train, test, tmp_path / "local-home")
    check_same_job(remote, local, test)


# --- the CLI -----------------------------------------------------------------------------------------------

STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


@pytest.fixture(scope="module")
def cli_run(
    sagelocal_server: Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> subprocess.CompletedProcess:
    """``sagelocal train --backend sagemaker …`` in a subprocess whose environment has only the server's
    endpoint variables, dummy credentials and region: the command a user runs against real SageMaker."""
    folder = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(11)
    inputs = []
    for name, rows in (("train.csv", 400), ("validation.csv", 100)):
        x = rng.normal(size=(rows, 6))
        y = (x[:, 0] - x[:, 2] > 0).astype(int)
        np.savetxt(folder / name, np.column_stack([y, x]), delimiter=",", fmt="%.6g")
        inputs.append(folder / name)
    env = sagelocal_server.subprocess_env(
        SAGELOCAL_HOME=str(folder / "home"), PYTHONPATH=str(Path(__file__).resolve().parents[2])
    )
    hyperparameters = [f"{k}={v}" for k, v in {**TUTORIAL_HYPERPARAMETERS, "num_round": "10"}.items()]
    command = [
        sys.executable,
        "-m",
        "sagelocal.cli.app",
        "train",
        "--backend",
        "sagemaker",
        "--train",
        str(inputs[0]),
        "--validation",
        str(inputs[1]),
        "--content-type",
        "csv",
        "--image-uri",
        TUTORIAL_IMAGE,
        "--role",
        "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        "--job-name",
        "sm-e2e-cli",
        *[arg for pair in hyperparameters for arg in ("-H", pair)],
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=FOLLOW_LIMIT)


def test_cli_train_prints_the_seven_phases(cli_run: subprocess.CompletedProcess) -> None:
    assert cli_run.returncode == 0, cli_run.stdout + cli_run.stderr
    assert cli_run.stdout.startswith("Creating training-job with name: sm-e2e-cli\n")
    assert cli_run.stderr == ""  # no SDK or botocore log records
    lines = cli_run.stdout.splitlines()
    # a status line may end in dots or run into a log line (the SDK prints no newline after it)
    phases = [p for line in lines if STAMP.match(line) for p in SEVEN_PHASES if line[20:].startswith(p)]
    assert phases == SEVEN_PHASES, cli_run.stdout
    assert any("#011train-" in line for line in lines), cli_run.stdout
    assert re.search(r"^Training seconds: \d+$", cli_run.stdout, re.MULTILINE)
    artifacts = [line for line in lines if line.startswith("Model artifacts: ")]
    assert len(artifacts) == 1, cli_run.stdout
    assert re.fullmatch(
        rf"Model artifacts: s3://{ACCOUNT_BUCKET}/+sm-e2e-cli/output/model.tar.gz", artifacts[0]
    )


def test_cli_train_downloads_model_tar_gz(cli_run: subprocess.CompletedProcess) -> None:
    assert cli_run.returncode == 0, cli_run.stdout + cli_run.stderr
    local_lines = [line for line in cli_run.stdout.splitlines() if line.startswith("Local file: ")]
    assert len(local_lines) == 1, cli_run.stdout
    downloaded = Path(local_lines[0].removeprefix("Local file: "))
    assert downloaded.name == "model.tar.gz" and downloaded.is_file()
    assert tar_members(downloaded) == ["xgboost-model"]


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"AWS_DEFAULT_REGION": "us-east-1"}, NO_CREDENTIALS),
        ({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}, NO_REGION),
        (
            {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"},
            NO_ROLE,
        ),
    ],
)
def test_cli_names_what_to_set_for_real_aws(tmp_path: Path, variables: dict[str, str], expected: str) -> None:
    """Without the endpoint variables the backend would talk to real AWS: it stops before any network call
    with one line naming the missing credentials, region or role."""
    env = clean_environ()
    env.update(
        AWS_CONFIG_FILE=str(tmp_path / "missing-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "missing-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        SAGELOCAL_HOME=str(tmp_path / "home"),
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        **variables,
    )
    env.pop("SAGELOCAL_ROLE_ARN", None)
    command = [sys.executable, "-m", "sagelocal.cli.app", "train", "--backend", "sagemaker"]
    command += ["--train", "s3://bucket/train", "--output-path", "s3://bucket/out"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == expected + "\n"
    assert result.stdout == ""
