"""Whole training jobs through ``--backend docker``: the emulator's lifecycle with ``train`` in a container
(real engine, real images, small generated CSV data)."""

from __future__ import annotations

import os
import random
import re
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sagelocal.algorithms.xgboost.versions import image_uri_for
from sagelocal.backends import Backend, BackendError, get_backend
from sagelocal.backends.docker import DockerBackend
from sagelocal.service.execution.runners.base import AlgorithmRun, RunnerError
from sagelocal.service.execution.runners.container import ContainerRunner

#: docker_client and own_images (tests/docker_fixture.py)

IMAGE = image_uri_for("3.0-5")
ECR_1_7 = image_uri_for("1.7-1")  # 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1
LATEST = "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"
NO_ENGINE = "unix:///nonexistent/docker.sock"
HAPPY_PATH = [
    "Starting - Starting the training job",
    "Starting - Preparing the instances for training",
    "Downloading - Downloading input data",
    "Downloading - Downloading the training image",
    "Training - Training image download completed. Training in progress.",
    "Uploading - Uploading generated training model",
    "Completed - Training job completed",
]


def write_csv(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    lines = []
    for _ in range(rows):
        x = [rng.uniform(-1, 1) for _ in range(4)]
        label = 1 if x[0] + 0.5 * x[1] + rng.gauss(0, 0.3) > 0 else 0
        lines.append(",".join([str(label)] + [f"{v:.4f}" for v in x]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def make_request(name: str, inputs: dict[str, str], **hyperparameters: str) -> dict[str, Any]:
    hps = {
        "num_round": "5",
        "objective": "binary:logistic",
        "max_depth": "3",
        "eta": "0.3",
        **hyperparameters,
    }
    return {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": hps,
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
            }
            for channel, uri in inputs.items()
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/xgb/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


def transitions(desc: dict[str, Any]) -> list[str]:
    return [f"{t['Status']} - {t['StatusMessage']}" for t in desc["SecondaryStatusTransitions"]]


@pytest.fixture
def backend(docker_client: Any, own_images: dict[str, str], tmp_path: Path) -> DockerBackend:
    return DockerBackend(home=tmp_path / "home")


@pytest.fixture
def inputs(backend: DockerBackend, tmp_path: Path) -> dict[str, str]:
    write_csv(tmp_path / "data" / "train" / "train.csv", 200, seed=1)
    write_csv(tmp_path / "data" / "validation" / "validation.csv", 100, seed=2)
    return {
        "train": backend.upload_input(tmp_path / "data" / "train", "s3://bucket/xgb/train"),
        "validation": backend.upload_input(tmp_path / "data" / "validation", "s3://bucket/xgb/validation"),
    }


def job_containers(client: Any, name: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"org.sagelocal.job={name}"})


def wait_until_training(backend: DockerBackend, name: str, rounds: int = 3, timeout: float = 120) -> None:
    """Until the job has logged ``rounds`` boosting rounds while still in progress (output streams)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        desc = backend.describe_training_job(name)
        assert desc["TrainingJobStatus"] == "InProgress", desc.get("FailureReason")
        events = backend.get_log_events(name) if desc["SecondaryStatus"] == "Training" else []
        if sum(1 for e in events if re.match(r"\[\d+\]#011", e["message"])) >= rounds:
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} did not start training within {timeout} s")


# --- without an engine -----------------------------------------------------------------------------------


def test_no_engine_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    expected = (
        f"Docker engine not reachable: {NO_ENGINE}: [Errno 2] No such file or directory"
        " — start dockerd or use --backend local"
    )
    with pytest.raises(BackendError) as e:
        DockerBackend(home=tmp_path / "home")
    assert str(e.value) == expected
    with pytest.raises(BackendError) as e:
        get_backend("docker")
    assert str(e.value) == expected
    with pytest.raises(RunnerError) as r:
        ContainerRunner().prepare_image(LATEST, "1")
    assert str(r.value) == expected


# --- with an engine --------------------------------------------------------------------------------------

docker = pytest.mark.docker


@docker
def test_backend_protocol(backend: DockerBackend) -> None:
    assert isinstance(backend, Backend)
    assert backend.name == "docker"


@docker
def test_full_lifecycle(backend: DockerBackend, inputs: dict[str, str], docker_client: Any) -> None:
    backend.create_training_job(make_request("xgb-ok", inputs))
    desc = backend.wait("xgb-ok", timeout=300)

    assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
    assert transitions(desc) == HAPPY_PATH
    model_uri = "s3://bucket/xgb/output/xgb-ok/output/model.tar.gz"
    assert desc["ModelArtifacts"] == {"S3ModelArtifacts": model_uri}
    with tarfile.open(backend.fetch_artifact(model_uri, Path("unused"))) as tar:
        assert tar.getnames() == ["xgboost-model"]

    events = backend.get_log_events("xgb-ok")
    messages = [e["message"] for e in events]
    assert messages[0].endswith("] Imported framework sagemaker_xgboost_container.training")
    round_lines = [
        m for m in messages if re.match(r"\[\d+\]#011train-logloss:[\d.]+#011validation-logloss:", m)
    ]
    assert len(round_lines) == 5
    assert all("\t" not in m for m in messages)
    assert any(m.endswith("File path /opt/ml/input/data/train of input files") for m in messages)
    finals = {m["MetricName"]: m["Value"] for m in desc["FinalMetricDataList"]}
    assert finals["train:logloss"] == float(
        re.search(r"#011train-logloss:(\S+?)(#|$)", round_lines[-1]).group(1)
    )

    # Every file the container wrote into the layout belongs to the host user; the container is gone.
    ml = backend.emulator.job_dir("xgb-ok")
    written = [p for p in ml.rglob("*") if "input" not in p.relative_to(ml).parts]
    assert written and {p.stat().st_uid for p in written} == {os.getuid()}
    assert job_containers(docker_client, "xgb-ok") == []


@docker
def test_failed_job_reports_the_algorithm_error(backend: DockerBackend, inputs: dict[str, str]) -> None:
    backend.create_training_job(make_request("xgb-silent", inputs, silent="0"))
    desc = backend.wait("xgb-silent", timeout=300)
    assert desc["TrainingJobStatus"] == "Failed"
    assert transitions(desc)[-1] == "Failed - Training job failed"
    assert desc["FailureReason"] == "ClientError: Extraneous hyperparameter found: silent, exit code: 1"


@docker
def test_stop_sends_sigterm_and_keeps_the_saved_model(
    backend: DockerBackend, inputs: dict[str, str], docker_client: Any
) -> None:
    request = make_request("xgb-stop", inputs, num_round="100000", save_model_on_termination="true")
    backend.create_training_job(request)
    wait_until_training(backend, "xgb-stop")
    backend.stop_training_job("xgb-stop")
    desc = backend.wait("xgb-stop", timeout=120)
    assert desc["TrainingJobStatus"] == "Stopped"
    assert transitions(desc)[-2:] == [
        "Stopping - Stopping the training job",
        "Stopped - Training job stopped",
    ]
    with tarfile.open(backend.fetch_artifact(desc["ModelArtifacts"]["S3ModelArtifacts"], Path("x"))) as tar:
        assert tar.getnames() == ["xgboost-model"]
    assert job_containers(docker_client, "xgb-stop") == []


@docker
def test_max_runtime_exceeded(backend: DockerBackend, inputs: dict[str, str], docker_client: Any) -> None:
    request = make_request("xgb-slow", inputs, num_round="1000000")
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 1}
    backend.create_training_job(request)
    desc = backend.wait("xgb-slow", timeout=120)
    assert desc["TrainingJobStatus"] == "Stopped"
    assert desc["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert job_containers(docker_client, "xgb-slow") == []


@docker
def test_builtin_uris_map_to_sagelocal_images(docker_client: Any, own_images: dict[str, str]) -> None:
    runner = ContainerRunner(client=docker_client, log=lambda _line: None)
    assert runner.resolve_image(LATEST, "1") == "sagelocal-xgboost:1"
    assert runner.resolve_image(image_uri_for("3.0-5"), "3.0-5") == "sagelocal-xgboost:3.0-5"
    assert runner.resolve_image("sagelocal-xgboost:3.0-5", "3.0-5") == "sagelocal-xgboost:3.0-5"


@docker
def test_a_real_image_name_runs_that_image_unchanged(
    backend: DockerBackend, inputs: dict[str, str], docker_client: Any
) -> None:
    # Stand-in for a pulled real image: sagelocal's 3.0-5 image under the ECR name of 1.7-1. Mapped, the
    # job would run sagelocal-xgboost:1.7-1 and write the 1.7-1 model format; run as-is, it writes 3.0-5's.
    docker_client.images.get("sagelocal-xgboost:3.0-5").tag(ECR_1_7)
    try:
        runner = ContainerRunner(client=docker_client, log=lambda _line: None)
        assert runner.resolve_image(ECR_1_7, "1.7-1") == ECR_1_7

        request = make_request("xgb-ecr", inputs)
        request["AlgorithmSpecification"]["TrainingImage"] = ECR_1_7
        backend.create_training_job(request)
        desc = backend.wait("xgb-ecr", timeout=300)
        assert desc["TrainingJobStatus"] == "Completed", desc.get("FailureReason")
        model = backend.emulator.job_dir("xgb-ecr") / "model" / "xgboost-model"
        assert model.read_bytes()[:1] == b"{"  # UBJSON: the image's own version, 3.0-5
    finally:
        docker_client.images.remove(ECR_1_7, noprune=True)


@docker
def test_an_image_that_cannot_be_pulled_fails_the_job(backend: DockerBackend, inputs: dict[str, str]) -> None:
    request = make_request("xgb-nope", inputs)
    request["AlgorithmSpecification"]["TrainingImage"] = "registry.invalid/sagelocal/nope:1"
    backend.create_training_job(request)
    desc = backend.wait("xgb-nope", timeout=120)
    assert desc["TrainingJobStatus"] == "Failed"
    assert desc["FailureReason"].startswith(
        "ClientError: Cannot pull training image registry.invalid/sagelocal/nope:1: "
    )
    assert transitions(desc)[-2] == "Downloading - Downloading the training image"


@docker
def test_runner_streams_lines_and_removes_the_container(
    docker_client: Any, own_images: dict[str, str], ml_root: Any
) -> None:
    rows = "\n".join(f"{i % 2},{i / 10:.1f},{(i * 7) % 5}" for i in range(60)) + "\n"
    root = ml_root(
        {"num_round": "3", "objective": "binary:logistic"}, {"train": "csv"}, {"train/train.csv": rows}
    )
    lines: list[str] = []
    runner = ContainerRunner(client=docker_client, log=lambda _line: None)
    runner.prepare_image("sagelocal-xgboost:3.0-5", "3.0-5")
    run = AlgorithmRun(root, "sagelocal-xgboost:3.0-5", "3.0-5", {"SAGELOCAL_TEST": "1"}, lines.append)
    outcome = runner.run(run, threading.Event(), None)
    assert (outcome.exit_code, outcome.ended_by) == (0, "exit")
    assert lines[0].endswith("] Imported framework sagemaker_xgboost_container.training")
    assert [line.split("\t")[0] for line in lines if re.match(r"\[\d+\]\t", line)] == ["[0]", "[1]", "[2]"]
    assert (root / "model" / "xgboost-model").exists()
    assert job_containers(docker_client, root.name) == []
