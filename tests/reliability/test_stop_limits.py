"""StopTrainingJob and MaxRuntimeInSeconds, as SageMaker reports them: a stopped job reaches ``Stopped``
within 5 seconds, keeps the model it saved when ``save_model_on_termination=true``, and a job that runs out of
time ends ``Stopped`` with SecondaryStatus ``MaxRuntimeExceeded``."""

from __future__ import annotations

import tarfile
import time
from pathlib import Path

import pytest
from support.builders import transitions, write_files
from support.reliability_cases import (
    BUCKET,
    ENDLESS,
    algorithm_pids,
    assert_store_consistent,
    channel,
    csv_rows,
    kill_leftover_workers,
    request,
    rounds_logged,
    run_cli,
    wait_for_rounds,
    wait_gone,
)

from sagelocal.aws.errors import ValidationException
from sagelocal.backends.local import LocalBackend

STOP_BOUND_SECONDS = 5.0
STOPPED_TAIL = ["Stopping - Stopping the training job", "Stopped - Training job stopped"]


@pytest.fixture
def train_uri(backend: LocalBackend, tmp_path: Path) -> str:
    data = write_files(tmp_path / "data", {"train.csv": csv_rows(rows=300, features=5)})
    backend.default_bucket()
    return backend.upload_input(data, f"s3://{BUCKET}/stop/train")


def stop_and_time(backend: LocalBackend, name: str) -> tuple[dict, float]:
    """StopTrainingJob, then poll until the job is no longer InProgress/Stopping (up to the 5 s bound)."""
    started = time.monotonic()
    backend.stop_training_job(name)
    while True:
        desc = backend.describe_training_job(name)
        elapsed = time.monotonic() - started
        if desc["TrainingJobStatus"] not in ("InProgress", "Stopping") or elapsed > STOP_BOUND_SECONDS:
            return desc, elapsed
        time.sleep(0.05)


def model_path(home: Path, name: str) -> Path:
    return home / "s3" / BUCKET / "out" / name / "output" / "model.tar.gz"


def test_stop_reaches_stopped_within_5_seconds(home: Path, backend: LocalBackend, train_uri: str) -> None:
    backend.create_training_job(request("stop-fast", [channel("train", train_uri)], ENDLESS))
    wait_for_rounds(backend, "stop-fast")
    (algorithm,) = algorithm_pids(home, "stop-fast")

    desc, elapsed = stop_and_time(backend, "stop-fast")
    assert desc["TrainingJobStatus"] == "Stopped", desc.get("FailureReason")
    assert elapsed <= STOP_BOUND_SECONDS
    assert desc["SecondaryStatus"] == "Stopped"
    assert transitions(desc)[-2:] == STOPPED_TAIL
    assert "FailureReason" not in desc
    assert wait_gone(algorithm, timeout=10)
    # Without save_model_on_termination nothing was saved, so no model is published.
    assert not model_path(home, "stop-fast").exists()
    # A stopped job cannot be stopped again (SageMaker's answer).
    with pytest.raises(ValidationException) as error:
        backend.stop_training_job("stop-fast")
    assert error.value.message == "The request was rejected because the training job is in status Stopped."
    assert_store_consistent(home)


def test_stop_with_save_model_on_termination_keeps_the_model(
    home: Path, backend: LocalBackend, train_uri: str
) -> None:
    import xgboost as xgb

    hps = {**ENDLESS, "save_model_on_termination": "true"}
    backend.create_training_job(request("stop-save", [channel("train", train_uri)], hps))
    wait_for_rounds(backend, "stop-save", rounds=5)

    desc, elapsed = stop_and_time(backend, "stop-save")
    assert desc["TrainingJobStatus"] == "Stopped"
    assert elapsed <= STOP_BOUND_SECONDS
    logged = rounds_logged(backend.get_log_events("stop-save"))

    archive = model_path(home, "stop-save")
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["xgboost-model"]
        tar.extract("xgboost-model", path=home / "extracted", filter="data")
    booster = xgb.Booster()
    booster.load_model(str(home / "extracted" / "xgboost-model"))
    # The model saved after the last finished round: at least the rounds seen before the stop (its own line
    # may not have been printed when the stop came).
    assert 5 <= booster.num_boosted_rounds() <= logged + 1
    assert desc["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{BUCKET}/out/stop-save/output/model.tar.gz"
    assert_store_consistent(home)


def test_stop_before_training_starts(home: Path, backend: LocalBackend, train_uri: str) -> None:
    backend.create_training_job(request("stop-early", [channel("train", train_uri)], ENDLESS))
    desc, elapsed = stop_and_time(backend, "stop-early")
    assert desc["TrainingJobStatus"] == "Stopped"
    assert elapsed <= STOP_BOUND_SECONDS
    assert transitions(desc)[-2:] == STOPPED_TAIL
    assert_store_consistent(home)


def test_max_runtime_ends_the_job_stopped_as_max_runtime_exceeded(home: Path, train_uri: str) -> None:
    result = run_cli(
        home, "train", "--job-name", "stop-max-runtime", "--train", train_uri, "--content-type", "csv",
        "--max-run", "3", *(arg for k, v in ENDLESS.items() for arg in ("-H", f"{k}={v}")),
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert result.stderr.rstrip("\n").splitlines()[-1] == (
        "Job ended with status 'Stopped' rather than 'Completed'. This could mean the job timed out or stopped "
        "early for some other reason: Consider checking whether it completed as you expect."
    )
    assert "Traceback" not in result.stderr
    desc = LocalBackend(home=home).describe_training_job("stop-max-runtime")
    assert desc["TrainingJobStatus"] == "Stopped"
    assert desc["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert transitions(desc)[-2:] == [
        "Stopping - Stopping the training job",
        "MaxRuntimeExceeded - Training job runtime exceeded MaxRuntimeInSeconds provided",
    ]
    assert "MaxRuntimeExceeded - Training job runtime exceeded MaxRuntimeInSeconds provided" in result.stdout
    assert "FailureReason" not in desc
    assert desc["StoppingCondition"]["MaxRuntimeInSeconds"] == 3
    assert_store_consistent(home)


def test_stop_through_the_cli(home: Path, backend: LocalBackend, train_uri: str) -> None:
    backend.create_training_job(request("stop-cli", [channel("train", train_uri)], ENDLESS))
    wait_for_rounds(backend, "stop-cli")
    started = time.monotonic()
    result = run_cli(home, "jobs", "stop", "stop-cli", "--wait")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Training job stop-cli: Stopped (Stopped)\n"
    assert time.monotonic() - started <= STOP_BOUND_SECONDS + 5  # plus the CLI's own start-up
    again = run_cli(home, "jobs", "stop", "stop-cli")
    assert again.returncode == 1
    assert again.stderr == (
        "An error occurred (ValidationException) when calling the StopTrainingJob operation: The request was "
        "rejected because the training job is in status Stopped.\n"
    )
    assert_store_consistent(home)


def test_stop_through_the_server(sagelocal_server, tmp_path: Path) -> None:
    server = sagelocal_server
    try:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="stop")
        s3.put_object(Bucket="stop", Key="train/train.csv", Body=csv_rows(rows=300, features=5).encode())
        sm = server.client("sagemaker")
        job = request("stop-server", [channel("train", "s3://stop/train")], ENDLESS, output="s3://stop/out")
        sm.create_training_job(**job)
        wait_for_rounds(LocalBackend(home=server.home), "stop-server")
        started = time.monotonic()
        sm.stop_training_job(TrainingJobName="stop-server")
        while True:
            desc = sm.describe_training_job(TrainingJobName="stop-server")
            if desc["TrainingJobStatus"] == "Stopped" or time.monotonic() - started > STOP_BOUND_SECONDS:
                break
            time.sleep(0.05)
        assert desc["TrainingJobStatus"] == "Stopped"
        assert time.monotonic() - started <= STOP_BOUND_SECONDS
        assert desc["SecondaryStatus"] == "Stopped"
        waiter = sm.get_waiter("training_job_completed_or_stopped")
        waiter.wait(TrainingJobName="stop-server", WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    finally:
        kill_leftover_workers(server.home)
