"""Whole training jobs through ``--backend docker``: the emulator's lifecycle with ``train`` in a container
(real engine, real images, small generated CSV data)."""

from __future__ import annotations

import os
import re
import tarfile
import threading
from pathlib import Path
from typing import Any

import pytest
from support.builders import HAPPY_PATH, make_request, transitions, wait_until_training
from support.builders import TUTORIAL_IMAGE as LATEST

from sagelocal.algorithms.xgboost.versions import image_uri_for
from sagelocal.backends import Backend, BackendError, get_backend
from sagelocal.backends.docker import DockerBackend
from sagelocal.service.execution.runners.base import AlgorithmRun, RunnerError
from sagelocal.service.execution.runners.container import ContainerRunner

#: docker_client and own_images (tests/support/docker_fixture.py)

ECR_1_7 = image_uri_for("1.7-1")  # 683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1
NO_ENGINE = "unix:///nonexistent/docker.sock"


@pytest.fixture
def backend(docker_client: Any, own_images: dict[str, str], tmp_path: Path) -> DockerBackend:
    return DockerBackend(home=tmp_path / "home")


def job_containers(client: Any, name: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"org.sagelocal.job={name}"})


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
    # the open-source image's "framework error" traceback, cut at 1,024 characters, as on the local backend
    reason = desc["FailureReason"]
    assert reason.startswith("AlgorithmError: framework error: \nTraceback (most recent call last):\n")
    assert "    hyperparameter_obj = self.hyperparameters[hp]\nKeyError: 'silent'\n" in reason
    assert len(reason) == 1024


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
